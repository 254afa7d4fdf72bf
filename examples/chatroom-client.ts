/**
 * A client for examples/chatroom-server.ts: what you type goes to the room, what the room
 * says is printed.
 *
 *   bun examples/chatroom-client.ts      # HOST (default localhost), PORT (default 1501)
 *
 * Two things happen at once, so they are two tasks: the keyboard is read line by line (a
 * foreign promise, awaited through `until` so it stays cancellable) and sent, while another
 * task prints what arrives. End of input (Ctrl+D) half-closes the connection and the client
 * waits for the server to finish; the server closing ends the client.
 */
import { connect, KeyboardInterrupt, run, until, withPool } from "../src/index.ts";

async function chat(hostname: string, port: number): Promise<void> {
  await using stream = await connect({ hostname, port });
  await withPool(async (pool) => {
    pool.spawn(async () => {
      for await (const chunk of stream) process.stdout.write(chunk);
      pool.cancel(); // the server closed the connection: stop reading the keyboard
    });
    const lines = console[Symbol.asyncIterator]();
    for (;;) {
      const { value, done } = await until(lines.next());
      if (done) break;
      if (value !== "") await stream.sendAll(`${value}\n`);
    }
    await stream.sendEof();
  });
}

const host = process.env["HOST"] ?? "localhost";
const port = Number(process.env["PORT"] ?? 1501);
try {
  await run(chat, host, port);
  console.log("\nDisconnected");
} catch (error) {
  if (!(error instanceof KeyboardInterrupt)) {
    console.error(`Exiting due to a ${(error as Error).name}: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
