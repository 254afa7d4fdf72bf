/**
 * Graceful shutdown requested from code (`requestShutdown()`): every serve of the run stops
 * accepting at once, idle connections close at once, a request in flight gets its reply,
 * whatever still runs when the grace period ends is cancelled (its `finally` runs), the serve
 * resolves and main goes on. The SIGTERM side is in test/reliability/graceful-shutdown.test.ts.
 */
import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  clock,
  connect,
  Event,
  type Listener,
  listen,
  MockClock,
  requestShutdown,
  run,
  Scheduler,
  type SocketStream,
  serve,
  shutdownSignal,
  sleep,
  sleepForever,
  waitForShutdown,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { LOCALHOST, readAll, text } from "./helpers.ts";

const to = (listener: Listener) => ({ hostname: "127.0.0.1", port: listener.port });

/** Answers each line with "re: " + it, once `gate` (if given) is set; `started` marks the first line. */
function lineServer(gate?: Event, started?: Event) {
  return async (stream: SocketStream) => {
    for (;;) {
      const line = await stream.receiveUntil("\n");
      if (started !== undefined && !started.isSet) started.set();
      await gate?.wait();
      await stream.sendAll(`re: ${text(line)}`);
    }
  };
}

async function expectRefused(listener: Listener): Promise<void> {
  const error = await connect(to(listener)).then(
    (stream) => stream.close().then(() => null),
    (e: unknown) => e,
  );
  expect((error as { code?: string } | null)?.code).toBe("ECONNREFUSED");
}

describe("requestShutdown()", () => {
  test("idle connections close at once, a request in flight gets its reply, new ones are refused, serve resolves and main goes on", () =>
    run(async () => {
      const listener = await listen(LOCALHOST);
      const inFlight = new Event();
      const gate = new Event();
      let afterServe = false;
      await withTimeout(10_000, async (pool) => {
        const served = pool.spawn(async () => {
          await listener.serve(lineServer(gate, inFlight));
          afterServe = true;
        });
        await using idle = await connect(to(listener));
        await using idleMidFrame = await connect(to(listener));
        await using busy = await connect(to(listener));
        await idleMidFrame.sendAll("no newline yet");
        await busy.sendAll("question\n");
        await inFlight.wait();

        requestShutdown();
        await expectRefused(listener);
        // The idle connection closes at once: EOF while the busy handler is still held.
        expect(await readAll(idle)).toEqual(new Uint8Array(0));
        expect(gate.isSet).toBe(false);
        // The busy one gets its reply, then EOF (it is closed as soon as it waits again).
        gate.set();
        expect(text(await readAll(busy))).toBe("re: question\n");
        // A handler with half a line buffered is in the middle of a message: it finishes it.
        await idleMidFrame.sendAll("!\n");
        expect(text(await readAll(idleMidFrame))).toBe("re: no newline yet!\n");
        await served.join();
        expect(afterServe).toBe(true);
        expect(listener.closed).toBe(true);
      });
    }));

  test("connections that ended before the drain (first, middle, last) do not hide the others from it", () =>
    run(async () => {
      const listener = await listen(LOCALHOST);
      let ended = 0;
      let endedEvent = new Event();
      await withTimeout(10_000, async (pool) => {
        const served = pool.spawn(() =>
          listener.serve(async (stream) => {
            try {
              for (;;) {
                const line = await stream.receiveUntil("\n");
                await stream.sendAll(line);
              }
            } finally {
              ended++;
              if (!endedEvent.isSet) endedEvent.set();
            }
          }),
        );
        const clients: SocketStream[] = [];
        for (let i = 0; i < 5; i++) {
          const client = await connect(to(listener));
          await client.sendAll(`hello ${i}\n`);
          expect(text(await client.receiveUntil("\n"))).toBe(`hello ${i}\n`);
          clients.push(client);
        }
        // The client closes: receiveUntil's IncompleteReadError ends that handler alone.
        for (const i of [0, 2, 4]) {
          const before = ended;
          endedEvent = new Event();
          await clients[i]?.close();
          while (ended === before) await endedEvent.wait();
        }
        expect(ended).toBe(3);
        requestShutdown();
        // The two still open are idle: each is closed at once, and the serve resolves.
        expect(await readAll(clients[1] as SocketStream)).toEqual(new Uint8Array(0));
        expect(await readAll(clients[3] as SocketStream)).toEqual(new Uint8Array(0));
        await served.join();
        expect(ended).toBe(5);
        for (const client of clients) await client.close();
      });
    }));

  test("at the end of the grace period a handler still running is cancelled and its finally runs", () =>
    run(async () => {
      const listener = await listen(LOCALHOST);
      const log: string[] = [];
      const started = new Event();
      await withTimeout(10_000, async (pool) => {
        const served = pool.spawn(() =>
          listener.serve(
            async (stream) => {
              await stream.receive();
              started.set();
              try {
                await sleepForever();
              } catch (error) {
                log.push(error instanceof CancelledError ? "cancelled" : String(error));
                throw error;
              } finally {
                log.push("finally");
              }
            },
            { gracePeriod: 300 },
          ),
        );
        await using client = await connect(to(listener));
        await client.sendAll("x");
        await started.wait();
        const start = clock();
        requestShutdown();
        await served.join(); // resolves: a drain is not an error
        expect(clock() - start).toBeGreaterThanOrEqual(299);
        expect(log).toEqual(["cancelled", "finally"]);
        expect(await readAll(client)).toEqual(new Uint8Array(0));
      });
    }));

  test("the default gracePeriod is 10 000 ms (virtual time)", () =>
    new Scheduler({ clock: new MockClock({ autojump: true }) }).run(async () => {
      const listener = await listen(LOCALHOST);
      const started = new Event();
      let cancelledAt = Number.NaN;
      await withPool(async (pool) => {
        const served = pool.spawn(() =>
          listener.serve(async (stream) => {
            await stream.receive();
            started.set();
            try {
              await sleepForever();
            } finally {
              cancelledAt = clock();
            }
          }),
        );
        await using client = await connect(to(listener));
        await client.sendAll("x");
        await started.wait();
        const start = clock();
        requestShutdown();
        await served.join();
        expect(cancelledAt - start).toBe(10_000);
      });
    }));

  test("cancelling a serve during its drain cancels the handlers at once: no wait for the grace", () =>
    run(async () => {
      const listener = await listen(LOCALHOST);
      const log: string[] = [];
      const started = new Event();
      const before = clock();
      await withPool(async (pool) => {
        pool.spawn(() =>
          listener.serve(
            async (stream) => {
              await stream.receive();
              started.set();
              try {
                await sleepForever();
              } finally {
                log.push("finally");
              }
            },
            { gracePeriod: 60_000 },
          ),
        );
        await using client = await connect(to(listener));
        await client.sendAll("x");
        await started.wait();
        requestShutdown();
        await sleep(20);
        expect(log).toEqual([]); // draining: the handler is in the middle of its message
        pool.cancel();
      });
      expect(log).toEqual(["finally"]);
      expect(clock() - before).toBeLessThan(30_000); // far from the 60 s grace
    }));

  test("every serve of the run drains, and a serve started afterwards resolves at once", () =>
    run(async () => {
      const a = await listen(LOCALHOST);
      const b = await listen({ unix: `/tmp/giambio-shutdown-${process.pid}.sock` });
      await withTimeout(10_000, async (pool) => {
        // An idle handler parked in receive(): closed at once, whatever the grace period.
        const echo = async (stream: SocketStream) => {
          for await (const chunk of stream) await stream.sendAll(chunk);
        };
        pool.spawn(() => a.serve(echo, { gracePeriod: Number.POSITIVE_INFINITY }));
        pool.spawn(() => b.serve(lineServer()));
        await using tcp = await connect(to(a));
        await using client = await connect({ unix: b.unix as string });
        await client.sendAll("hi\n");
        expect(text(await client.receiveUntil("\n"))).toBe("re: hi\n");
        await sleep(10);
        requestShutdown();
        expect(await readAll(client)).toEqual(new Uint8Array(0));
        expect(await readAll(tcp)).toEqual(new Uint8Array(0));
      });
      expect(a.closed && b.closed).toBe(true);
      await serve(LOCALHOST, lineServer()); // resolves at once: the run is shutting down
    }));

  test("handlers and other tasks see it: shutdownSignal() aborts, waitForShutdown() returns", () =>
    run(async () => {
      const signal = shutdownSignal();
      expect(signal.aborted).toBe(false);
      const seen: string[] = [];
      signal.addEventListener("abort", () => seen.push("abort"));
      await withTimeout(5_000, async (pool) => {
        pool.spawn(async () => {
          await waitForShutdown();
          seen.push("waited");
        });
        await sleep(5);
        requestShutdown();
        requestShutdown(); // a second request does nothing
      });
      expect(seen).toEqual(["abort", "waited"]);
      expect(shutdownSignal().aborted).toBe(true);
      await waitForShutdown(); // at once
    }));

  test("a cancelled waitForShutdown() leaves no waiter behind", () =>
    run(async () => {
      await withPool(async (pool) => {
        const waiter = pool.spawn(waitForShutdown);
        await sleep(1);
        waiter.cancel();
      });
      requestShutdown(); // wakes nobody; the run ends without a stray timer or task
    }));

  test("runs do not share their shutdown", async () => {
    await run(() => requestShutdown());
    await run(async () => {
      expect(shutdownSignal().aborted).toBe(false);
    });
  });

  test("outside a run and with a bad gracePeriod: clear errors", async () => {
    expect(() => requestShutdown()).toThrow(/giambio is not running/);
    expect(() => shutdownSignal()).toThrow(/giambio is not running/);
    await expect(waitForShutdown()).rejects.toThrow(/giambio is not running/);
    await run(async () => {
      const listener = await listen(LOCALHOST);
      await expect(listener.serve(() => {}, { gracePeriod: -1 })).rejects.toThrow(
        "serve({ gracePeriod }) must be a non-negative number of milliseconds, got -1",
      );
      await expect(listener.serve(() => {}, { gracePeriod: "1" as never })).rejects.toThrow(
        TypeError,
      );
      await listener.close();
    });
  });
});
