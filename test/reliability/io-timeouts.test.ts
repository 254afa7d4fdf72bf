/**
 * Timeouts on I/O: a per-read `skipAfter` drops idle connections and only those; a `sendAll`
 * stuck on a peer that does not read, cut by `withTimeout`, leaves the stream broken for
 * sending (a clear `BrokenResourceError`) but not corrupt (the peer received a prefix of what
 * was sent, then a clean EOF), still able to receive, and `close()` still works.
 */
import { expect, test } from "bun:test";
import {
  BrokenResourceError,
  connect,
  run,
  type SocketStream,
  serve,
  skipAfter,
  sleep,
  TooSlowError,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { concat, connectedPair, LOCALHOST, pattern, readAll, text } from "../net/helpers.ts";

const IDLE_MS = 200;

test("a per-read skipAfter drops idle connections and keeps busy ones", async () => {
  /** Dropped connections by client port, with how long the server's read had waited. */
  const dropped = new Map<number, number>();
  let finallies = 0;
  await run(async () => {
    await withPool(async (server) => {
      const listener = await server.start(serve, LOCALHOST, async (stream: SocketStream) => {
        try {
          for (;;) {
            // Timed here, not in the client: the read's timer starts before the client's
            // connect() (or its receive of the echo) returns, which under load was > 5 ms.
            const waitStart = performance.now();
            const chunk = await skipAfter(IDLE_MS, () => stream.receive());
            if (chunk === undefined) {
              dropped.set(stream.remotePort, performance.now() - waitStart);
              return;
            }
            if (chunk.length === 0) return;
            await stream.sendAll(chunk);
          }
        } finally {
          finallies++;
        }
      });
      const address = { hostname: "127.0.0.1", port: listener.port };
      const busyPorts: number[] = [];
      const idlePorts: number[] = [];
      await withPool(async (clients) => {
        // Silent from the start: dropped after IDLE_MS, the client sees EOF.
        for (let i = 0; i < 3; i++) {
          clients.spawn(async () => {
            await using stream = await connect(address);
            idlePorts.push(stream.localPort);
            expect((await stream.receive()).length).toBe(0);
          });
        }
        // Busy for 3 idle periods, one line every IDLE_MS / 4: never dropped.
        for (let i = 0; i < 2; i++) {
          clients.spawn(async () => {
            await using stream = await connect(address);
            busyPorts.push(stream.localPort);
            for (let n = 0; n < 12; n++) {
              await stream.sendAll(`line ${n}\n`);
              expect(text(await stream.receiveUntil("\n"))).toBe(`line ${n}\n`);
              await sleep(IDLE_MS / 4);
            }
            await stream.sendEof();
            expect((await stream.receive()).length).toBe(0);
          });
        }
        // Busy, then silent: dropped IDLE_MS after its last line.
        clients.spawn(async () => {
          await using stream = await connect(address);
          idlePorts.push(stream.localPort);
          await stream.sendAll("hello\n");
          expect(text(await stream.receiveUntil("\n"))).toBe("hello\n");
          expect((await stream.receive()).length).toBe(0);
        });
      });
      expect([...dropped.keys()].sort()).toEqual(idlePorts.sort());
      // Never early: each was dropped a whole idle period after its read began.
      for (const waited of dropped.values()) expect(waited).toBeGreaterThanOrEqual(IDLE_MS - 1);
      for (const port of busyPorts) expect(dropped.has(port)).toBe(false);
      server.cancel();
    });
  });
  expect(finallies).toBe(6);
}, 10_000);

test("a stuck sendAll cut by withTimeout: broken for sending, not corrupt, close works", async () => {
  await run(async () => {
    const [writer, peer] = await connectedPair();
    // Small writes in one iteration are coalesced; the large one then fills every buffer
    // on the way, as the peer reads nothing.
    const small = [pattern(100, 1), pattern(2000, 2), pattern(30, 3)];
    const large = pattern(64 << 20, 4);
    const sent = concat([...small, large]);
    const error = await withTimeout(300, async () => {
      for (const bytes of small) await writer.sendAll(bytes);
      await writer.sendAll(large);
    }).catch((e) => e);
    expect(error).toBeInstanceOf(TooSlowError);

    const next = await writer.sendAll("more").catch((e) => e);
    expect(next).toBeInstanceOf(BrokenResourceError);
    expect(next.message).toContain("after an earlier sendAll() was cancelled midway");
    // Receiving still works.
    await peer.sendAll("still here");
    expect(text(await writer.receiveExactly(10))).toBe("still here");
    // close() finishes at once: it does not wait for a peer that may never read the rest.
    await withTimeout(1000, () => writer.close());

    const received = await readAll(peer); // a clean EOF, no reset
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(sent.length);
    expect(Buffer.compare(received, sent.subarray(0, received.length))).toBe(0);
    await peer.close();
  });
}, 10_000);
