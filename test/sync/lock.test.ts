import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  currentTask,
  GiambioError,
  Lock,
  MockClock,
  Queue,
  run,
  Scheduler,
  sleep,
  TooSlowError,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { Log } from "../support/timeline.ts";

/** giambio's scripts count in seconds: one of their seconds is this many ms in the tests ported from them. */
const SCRIPT_SECOND = 25;

describe("Lock", () => {
  test("one holder at a time; locked and owner follow", async () => {
    const lock = new Lock();
    let inside = 0;
    let maxInside = 0;
    await run(async () => {
      await withPool(async (pool) => {
        for (let i = 0; i < 5; i++) {
          pool.spawn(() =>
            lock.withLock(async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              expect(lock.locked).toBe(true);
              expect(lock.statistics().owner).toBe(currentTask());
              await sleep(2);
              inside--;
            }),
          );
        }
      });
    });
    expect(maxInside).toBe(1);
    expect(lock.locked).toBe(false);
    expect(lock.statistics()).toEqual({ locked: false, owner: null, tasksWaiting: 0 });
  }, 5000);

  test("waiters get the lock in the order they asked (hand-off is FIFO)", async () => {
    const lock = new Lock();
    const order: number[] = [];
    await run(async () => {
      await lock.acquire();
      await withPool(async (pool) => {
        for (let i = 0; i < 50; i++) {
          pool.spawn(() => lock.withLock(() => order.push(i)));
        }
        expect(lock.statistics().tasksWaiting).toBe(50);
        lock.release();
      });
    });
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  test("release() hands the lock to the first waiter: the releaser cannot barge back in", async () => {
    const lock = new Lock();
    const log: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        await lock.acquire();
        pool.spawn(async () => {
          await lock.acquire();
          log.push("waiter");
          lock.release();
        });
        lock.release();
        expect(lock.locked).toBe(true); // owned by the waiter already
        await lock.acquire(); // so this queues behind it
        log.push("releaser");
        lock.release();
      });
    });
    expect(log).toEqual(["waiter", "releaser"]);
  });

  test("release() by a non-owner → GiambioError naming both tasks", async () => {
    const lock = new Lock();
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawnNamed("holder", async () => {
          await lock.acquire();
          await sleep(20);
          lock.release();
        });
        pool.spawnNamed("intruder", () => {
          expect(() => lock.release()).toThrow(GiambioError);
          expect(() => lock.release()).toThrow(
            "Lock.release(): task 'intruder' does not hold this lock (owner: task 'holder')",
          );
        });
      });
    });
    expect(lock.locked).toBe(false);
  }, 5000);

  test("release() of a free lock → GiambioError", async () => {
    await run(() => {
      expect(() => new Lock().release()).toThrow(/does not hold this lock \(owner: nobody\)/);
    });
  });

  test("acquire() by the owner → GiambioError naming the task; the lock stays held", async () => {
    const lock = new Lock();
    await run(async function main() {
      await lock.acquire();
      const again = lock.acquire();
      await expect(again).rejects.toBeInstanceOf(GiambioError);
      await expect(again).rejects.toThrow(
        "Lock.acquire(): task 'main' already holds this lock (owner: task 'main')",
      );
      expect(lock.statistics().owner).toBe(currentTask());
      lock.release();
    });
  });

  test("withLock releases when the body throws, and rethrows", async () => {
    const lock = new Lock();
    await run(async () => {
      await expect(
        lock.withLock(() => {
          throw new TypeError("boom");
        }),
      ).rejects.toThrow(TypeError);
    });
    expect(lock.locked).toBe(false);
  });

  test("withLock(fn) with a bad fn → TypeError, lock untouched", async () => {
    const lock = new Lock();
    await run(async () => {
      // @ts-expect-error a deliberately bad argument
      await expect(lock.withLock(42)).rejects.toThrow(
        "Lock.withLock(fn) must be a function, got 42",
      );
    });
    expect(lock.locked).toBe(false);
  });

  test("a waiter cancelled before the hand-off never owns the lock", async () => {
    const lock = new Lock();
    const owners: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        await lock.acquire();
        const doomed = pool.spawnNamed("doomed", () => lock.withLock(() => owners.push("doomed")));
        pool.spawnNamed("next", () => lock.withLock(() => owners.push("next")));
        expect(lock.statistics().tasksWaiting).toBe(2);
        doomed.cancel();
        await checkpoint();
        expect(doomed.state).toBe("cancelled");
        expect(lock.statistics().tasksWaiting).toBe(1);
        lock.release();
      });
    });
    expect(owners).toEqual(["next"]);
    expect(lock.statistics()).toEqual({ locked: false, owner: null, tasksWaiting: 0 });
  });

  test("a waiter cancelled right after the hand-off gets the lock and withLock releases it", async () => {
    const lock = new Lock();
    const log: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        await lock.acquire();
        const waiter = pool.spawn(() =>
          lock.withLock(async () => {
            log.push("waiter holds the lock");
            await checkpoint(); // raises: the task was cancelled after it was woken
            log.push("unreachable");
          }),
        );
        lock.release(); // hands the lock to the waiter...
        waiter.cancel(); // ...which is cancelled before it runs
        expect(lock.statistics().owner?.id).toBe(waiter.id);
        await checkpoint();
        expect(waiter.state).toBe("cancelled");
      });
    });
    expect(log).toEqual(["waiter holds the lock"]);
    expect(lock.locked).toBe(false);
  });

  test("acquire() of a free lock in a cancelled scope → CancelledError, lock not taken", async () => {
    const lock = new Lock();
    await run(async () => {
      await withPool(async (pool) => {
        pool.cancel();
        await expect(lock.acquire()).rejects.toBeInstanceOf(CancelledError);
      });
    });
    expect(lock.locked).toBe(false);
  });

  test("acquire() under withTimeout gives up with TooSlowError and leaves no waiter", async () => {
    const lock = new Lock();
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await lock.acquire();
          await sleep(60);
          lock.release();
        });
        await expect(withTimeout(15, () => lock.acquire())).rejects.toBeInstanceOf(TooSlowError);
        expect(lock.statistics().tasksWaiting).toBe(0);
        await lock.acquire(); // still usable: waits for the holder, then owns it
        expect(lock.statistics().owner).toBe(currentTask());
        lock.release();
      });
    });
    expect(lock.locked).toBe(false);
  }, 5000);

  // Port of giambio's tests/lock.py (github.com/nocturn9x/giambio).
  test("each holder's items are contiguous while unlocked countdowns interleave", async () => {
    // Virtual time: the interleaving of equal deadlines must not depend on the machine's load.
    const clock = new MockClock({ autojump: true });
    const log = new Log(SCRIPT_SECOND, () => clock.now());
    const queue = new Queue<number>();
    const lock = new Lock();
    async function child(start: number, limit: number) {
      await lock.withLock(async () => {
        for (let n = start; n <= limit; n++) {
          log.push(`locked ${n}`);
          await queue.put(n);
          await sleep(SCRIPT_SECOND);
        }
      });
    }
    async function other(stop: number) {
      for (let n = stop; n > 0; n--) {
        log.push(`unlocked(${stop}) ${n}`);
        await sleep(SCRIPT_SECOND);
      }
    }
    const result = await new Scheduler({ clock, handleSignals: false }).run(async () => {
      await withPool(async (pool) => {
        pool.spawn(child, 1, 5);
        pool.spawn(child, 6, 10);
        pool.spawn(other, 10);
        pool.spawn(other, 5);
      });
      log.push("main done");
      const items: number[] = [];
      while (queue.size > 0) items.push(await queue.get());
      return items;
    });
    const expected = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(result).toEqual(expected);
    const locked = log.labels.filter((label) => label.startsWith("locked"));
    expect(locked).toEqual(expected.map((n) => `locked ${n}`));
    // The countdowns ran beside the holders, not after them.
    const labels = log.labels;
    expect(labels.indexOf("unlocked(10) 9")).toBeLessThan(labels.indexOf("locked 5"));
    expect(labels.indexOf("unlocked(10) 4")).toBeLessThan(labels.indexOf("locked 10"));
    expect(labels.indexOf("unlocked(10) 4")).toBeGreaterThan(labels.indexOf("locked 6"));
    log.expectAt("locked 6", 5);
    log.expectAt("main done", 10);
  }, 5000);
});
