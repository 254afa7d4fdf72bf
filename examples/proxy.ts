/**
 * A two-way TCP proxy (giambio's proxy.py, after njsmith's trio talk), on giambio for Bun.
 *
 *   TARGET_PORT=1500 bun examples/proxy.ts   # PORT (default 1600; 0 = any), HOST, TARGET_HOST
 *
 * Every client gets its own connection to the target and two tasks copying bytes, one each
 * way. When one side stops sending, the proxy half-closes the other (`sendEof`), so
 * protocols that end a request with EOF work through it, and a connection ends once both
 * directions have. Ctrl+C (or DURATION ms) stops it cleanly, with a summary line.
 */
import {
  connect,
  KeyboardInterrupt,
  listen,
  run,
  type SocketStream,
  skipAfter,
  withPool,
} from "../src/index.ts";

const totals = { connections: 0, up: 0, down: 0 };

/** Copies `source` to `sink` until EOF, then half-closes `sink`. Returns the byte count. */
async function proxyOneWay(source: SocketStream, sink: SocketStream): Promise<number> {
  let bytes = 0;
  for await (const chunk of source) {
    await sink.sendAll(chunk);
    bytes += chunk.length;
  }
  console.log(`${source.peer} has exited, closing connection to ${sink.peer}`);
  await sink.sendEof();
  return bytes;
}

async function proxyTwoWay(client: SocketStream, hostname: string, port: number): Promise<void> {
  await using target = await connect({ hostname, port });
  totals.connections++;
  console.log(`${client.peer} connected, forwarding to ${target.peer}`);
  await withPool(async (pool) => {
    pool.spawn(async () => {
      totals.up += await proxyOneWay(client, target);
    });
    pool.spawn(async () => {
      totals.down += await proxyOneWay(target, client);
    });
  });
}

async function main(host: string, port: number, target: { host: string; port: number }) {
  const listener = await listen({ hostname: host, port });
  console.log(`Starting two-way proxy from ${listener.address} to ${target.host}:${target.port}`);
  const duration = Number(process.env["DURATION"] ?? Number.POSITIVE_INFINITY);
  await skipAfter(duration, () =>
    listener.serve((client) => proxyTwoWay(client, target.host, target.port), {
      onError: (error, client) => console.log(`${client.peer}: ${(error as Error).message}`),
    }),
  );
}

function summary(start: number): string {
  const seconds = ((performance.now() - start) / 1000).toFixed(2);
  return `Proxy has exited after ${seconds} seconds: ${totals.connections} connections, ${totals.up} bytes up, ${totals.down} bytes down`;
}

const start = performance.now();
const targetPort = Number(process.env["TARGET_PORT"]);
if (!Number.isInteger(targetPort)) {
  console.error("Set TARGET_PORT to the port to forward to (and TARGET_HOST, default localhost)");
  process.exit(2);
}
try {
  await run(main, process.env["HOST"] ?? "localhost", Number(process.env["PORT"] ?? 1600), {
    host: process.env["TARGET_HOST"] ?? "localhost",
    port: targetPort,
  });
  console.log(summary(start));
} catch (error) {
  if (error instanceof KeyboardInterrupt) {
    console.log("Ctrl+C detected, exiting");
    console.log(summary(start));
  } else {
    console.error(`Exiting due to a ${(error as Error).name}: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
