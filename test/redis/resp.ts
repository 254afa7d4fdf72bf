/** RESP2, the client's side, for the tests of examples/redis-server.ts. */

/** RESP2 array of bulk strings, as clients send commands (args are latin1 strings). */
export function encodeArray(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${arg.length}\r\n${arg}\r\n`).join("")}`;
}
