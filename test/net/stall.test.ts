/**
 * The stall test: a client writes 64 MiB to an echo server while not reading for a second,
 * then reads everything back. Every byte must come back intact and in order, and the server
 * (its own process) must hold little of it: reading is paused once a connection's unread
 * bytes pass the high-water mark, and sendAll waits for drain instead of queueing.
 *
 * What is measured is the most bytes the server's stream held at once (unread plus unsent,
 * an internal count sampled every millisecond), not the process's memory: RSS depends on
 * when the collector runs (Bun hands each read over in a fresh buffer), so a bound on it
 * sits close to what a server without backpressure reaches. The count separates the designs
 * by two orders of magnitude: about a high-water mark (64 KiB) plus a read with pausing,
 * tens of MiB without — which the second test checks, on the same server with
 * pausing disabled, so that this test can fail for its stated reason.
 */
import { expect, test } from "bun:test";
import { connect, run, sleep, withPool } from "../../src/index.ts";
import { readLines } from "../support/read-lines.ts";
import { pattern } from "./helpers.ts";

const TOTAL = 64 << 20;
/**
 * Most bytes a paused stream may hold: the 64 KiB mark, plus one read of Bun's (up to its
 * 512 KiB receive buffer) that lands on top, plus an echoed chunk waiting in the outbox.
 * Measured: ~0.55 MiB with pausing, ~60 MiB without.
 */
const HELD_BOUND = 2 << 20;

interface Stats {
  idleRss: number;
  peakRss: number;
  peakHeld: number;
}

/** Streams 64 MiB through the echo server, stalling the read side for a second. */
async function stall(env: Record<string, string>): Promise<Stats> {
  const server = Bun.spawn(["bun", `${import.meta.dir}/fixtures/echo-server.ts`], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, ...env },
  });
  const lines = readLines(server.stdout);
  try {
    const port = Number((await lines.next()).value?.replace("listening ", ""));
    expect(port).toBeGreaterThan(0);
    const payload = pattern(TOTAL, 64);
    const received = new Uint8Array(TOTAL);
    let filled = 0;
    await run(async () => {
      await using stream = await connect({ hostname: "127.0.0.1", port });
      await withPool(async (pool) => {
        const sender = pool.spawn(async () => {
          await stream.sendAll(payload);
          await stream.sendEof();
        });
        await sleep(1000);
        if (env["NO_READ_PAUSE"] === undefined) {
          expect(sender.done).toBe(false); // everything is full: the server stopped reading
        }
        for await (const chunk of stream) {
          received.set(chunk, filled);
          filled += chunk.length;
        }
      });
    });
    expect(filled).toBe(TOTAL);
    expect(Buffer.compare(received, payload)).toBe(0);
    server.stdin.write("stats\n");
    server.stdin.flush();
    return JSON.parse((await lines.next()).value as string) as Stats;
  } finally {
    server.stdin.end();
    server.kill();
    await server.exited;
  }
}

test("64 MiB through an echo server that is not read for a second: intact, little held", async () => {
  const stats = await stall({});
  expect(stats.peakHeld).toBeGreaterThan(0); // the sampling saw the connection
  expect(stats.peakHeld).toBeLessThan(HELD_BOUND);
}, 30000);

test("the measure tells the designs apart: without read pausing the server holds tens of MiB", async () => {
  const stats = await stall({ NO_READ_PAUSE: "1" });
  expect(stats.peakHeld).toBeGreaterThan(8 * HELD_BOUND);
}, 30000);
