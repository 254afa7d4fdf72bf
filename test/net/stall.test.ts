/**
 * The stall test: a client writes 64 MiB to an echo server while not reading for a second,
 * then reads everything back. Every byte must come back intact and in order, and the server
 * (its own process, so its memory can be measured) must stay near its idle size: reading is
 * paused once a connection's unread bytes pass the high-water mark, and sendAll waits for
 * drain instead of queueing. (A hand-written Bun.listen echo that ignores write()'s return
 * value silently loses most of the data here; one that queues unwritten data without pausing
 * balloons by the whole 64 MiB.)
 */
import { expect, test } from "bun:test";
import { connect, run, sleep, withPool } from "../../src/index.ts";
import { readLines } from "../support/read-lines.ts";
import { pattern } from "./helpers.ts";

const TOTAL = 64 << 20;

test("64 MiB through an echo server that is not read for a second: intact, bounded memory", async () => {
  const server = Bun.spawn(["bun", `${import.meta.dir}/fixtures/echo-server.ts`], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
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
        expect(sender.done).toBe(false); // everything is full: the server stopped reading
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
    const stats = JSON.parse((await lines.next()).value as string);
    const growth = stats.peakRss - stats.idleRss;
    // The server keeps at most about a high-water mark per direction; kernel buffers hold
    // the rest of what is in flight. What remains is garbage the GC has not collected yet
    // (Bun hands each read over in a fresh buffer): measured ~28 MiB here (up to ~42 MiB on
    // a loaded machine, when the collector runs late), ~25 MiB for a correct hand-written
    // Bun.listen echo, ~67 MiB or more for one that queues without pausing. The bound sits
    // between those two, with room for the collector's timing.
    expect(growth).toBeLessThan(52 << 20);
  } finally {
    server.stdin.end();
    server.kill();
    await server.exited;
  }
}, 30000);
