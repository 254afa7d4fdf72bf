/**
 * Slow peers against a `serve` server in its own process, whose memory is measured while the
 * slow exchange is in progress (for 1.5 s; then the test stops):
 * - the server sends 64 MiB in one `sendAll` to a client that reads 1 byte at a time: the
 *   `sendAll` waits (it is still running), and the server's peak RSS stays within a few MiB
 *   of idle (the 64 MiB payload is allocated before the idle measurement; a server that
 *   copied or queued what the socket did not take would grow by up to its size);
 * - a client floods a handler that reads 1 KiB every 10 ms: the server stops reading, so the
 *   client's sends stall once the buffers on the way are full, and the server's peak RSS
 *   stays within a few MiB of idle (one that kept reading would hold all of it).
 */
import { expect, test } from "bun:test";
import { connect, run, skipAfter, until } from "../../src/index.ts";
import { pattern } from "../net/helpers.ts";
import { ServerProcess } from "./server-process.ts";

const MiB = 1 << 20;
const WATCH_MS = 1500;

test("a client reading 1 byte at a time: sendAll of 64 MiB waits, server memory stays bounded", async () => {
  const server = await ServerProcess.start("send", String(64 * MiB));
  try {
    const expected = pattern(64 * MiB, 7); // what the fixture sends
    let read = 0;
    const during = await run(async () => {
      await using stream = await connect({ hostname: "127.0.0.1", port: server.port });
      await skipAfter(WATCH_MS, async () => {
        for (;;) {
          const byte = await stream.receive(1);
          if (byte.length !== 1 || byte[0] !== expected[read]) {
            throw new Error(`byte ${read}: got ${byte[0]}, expected ${expected[read]}`);
          }
          read++;
        }
      });
      return await until(server.stats()); // while still connected
    });
    expect(during.started).toBe(1);
    expect(during.finished).toBe(0); // the sendAll is still waiting for the client
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(64 * MiB);
    // Measured: ~2 MiB.
    expect(during.peakRss - during.idleRss).toBeLessThan(16 * MiB);
    // The client has gone: the handler's sendAll fails and the handler ends.
    const after = await server.waitFor((s) => s.finished === 1);
    expect(after.errors).toEqual({ BrokenResourceError: 1 });
  } finally {
    await server.stop();
  }
}, 30_000);

test("a client flooding a slow reader: reading pauses, the client stalls, server memory stays bounded", async () => {
  const server = await ServerProcess.start("slow-reader");
  try {
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    await run(async () => {
      await using stream = await connect({ hostname: "127.0.0.1", port: server.port });
      await skipAfter(WATCH_MS, async () => {
        for (;;) {
          await stream.sendAll(chunk);
          sent += chunk.length;
        }
      });
    });
    const during = await server.stats();
    expect(during.started).toBe(1);
    expect(during.finished).toBe(0);
    expect(during.consumed).toBeGreaterThan(0);
    // What was sent and not yet read sits in the kernel's buffers and in at most about one
    // high-water mark in the server: measured ~6 MiB sent, ~130 KiB read. A server that kept
    // reading would let the client send as fast as loopback goes, and hold it all.
    expect(sent - during.consumed).toBeLessThan(32 * MiB);
    // Measured: ~8 MiB, mostly one-off costs of the first connection (the same flood again
    // adds ~1 MiB).
    expect(during.peakRss - during.idleRss).toBeLessThan(16 * MiB);
  } finally {
    await server.stop();
  }
}, 30_000);
