/**
 * The echo server of the workers benchmark: `serve` with `workers: <n>` and a handler that
 * loops `receive()` → `sendAll()`. Each worker prints `worker <pid> <port>` on stdout (the
 * primary's, inherited) before it serves; SIGTERM to the primary stops them all.
 *
 *   bun bench/tcp/workers-echo-server.ts <workers>
 */
import { run, serve } from "../../src/index.ts";

const workers = Number(process.argv[2] ?? 1);
const { GIAMBIO_WORKER, GIAMBIO_WORKER_PORT } = process.env;
if (GIAMBIO_WORKER !== undefined) console.log(`worker ${process.pid} ${GIAMBIO_WORKER_PORT}`);
await run(() =>
  serve(
    { hostname: "127.0.0.1", port: 0 },
    async (stream) => {
      for await (const chunk of stream) await stream.sendAll(chunk);
    },
    // A load generator that stops resets its connections: that ends the connection only.
    { workers, onError: () => {} },
  ),
);
