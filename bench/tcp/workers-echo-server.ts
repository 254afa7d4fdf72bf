/**
 * The echo server of the workers benchmark: `serve` with `workers: <n>` and a handler that
 * loops `receive()` → `sendAll()`. Each worker prints `worker <pid> <port>` on stdout (the
 * primary's, inherited) before it serves; SIGTERM to the primary stops them all. With
 * `<n>` = 0 it is the same server without workers (one process, which prints the same line
 * once it listens), the reference for what the worker machinery costs; `0 <port>` listens on
 * that port with `reusePort`, so that several such processes started by hand share it, as
 * workers do but without the machinery.
 *
 *   bun bench/tcp/workers-echo-server.ts <workers> [<port>]
 */
import { listen, run, type SocketStream, serve } from "../../src/index.ts";

const workers = Number(process.argv[2] ?? 1);
const port = Number(process.argv[3] ?? 0);
const { GIAMBIO_WORKER, GIAMBIO_WORKER_PORT } = process.env;

async function echo(stream: SocketStream): Promise<void> {
  for await (const chunk of stream) await stream.sendAll(chunk);
}
// A load generator that stops resets its connections: that ends the connection only.
const onError = () => {};

if (workers === 0) {
  await run(async () => {
    const listener = await listen({ hostname: "127.0.0.1", port, reusePort: port !== 0 });
    console.log(`worker ${process.pid} ${listener.port}`);
    await listener.serve(echo, { onError });
  });
} else {
  if (GIAMBIO_WORKER !== undefined) console.log(`worker ${process.pid} ${GIAMBIO_WORKER_PORT}`);
  await run(() => serve({ hostname: "127.0.0.1", port: 0 }, echo, { workers, onError }));
}
