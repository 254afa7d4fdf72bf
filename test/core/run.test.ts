/**
 * `run` and the loop itself: results, re-runs, nesting, use outside the loop, fairness,
 * foreign awaits, the clock and bad input (deadlock detection: deadlock.test.ts).
 */
import { describe, expect, test } from "bun:test";
import {
  checkpoint,
  clock,
  currentTask,
  GiambioError,
  run,
  Scheduler,
  skipAfter,
  sleep,
  sleepUntil,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { within } from "../support/within.ts";

describe("run", () => {
  test("resolves with main's value and passes the arguments", async () => {
    expect(await run(async (a: number, b: string) => `${a}${b}`, 1, "x")).toBe("1x");
    expect(await run((n: number) => n * 2, 21)).toBe(42);
  });

  test("rejects with main's error unchanged", async () => {
    const error = new TypeError("main failed");
    await expect(
      run(async () => {
        await sleep(1);
        throw error;
      }),
    ).rejects.toBe(error);
  });

  test("can be called again after it finishes, and two runs may overlap", async () => {
    expect(await run(async () => 1)).toBe(1);
    expect(await run(async () => 2)).toBe(2);
    const [a, b] = await Promise.all([
      run(async () => {
        await sleep(10);
        return "a";
      }),
      run(async () => {
        await sleep(5);
        return "b";
      }),
    ]);
    expect([a, b]).toEqual(["a", "b"]);
  });

  test("nested run is a GiambioError", async () => {
    const error = await run(() => run(async () => 1).catch((e) => e));
    expect(error).toBeInstanceOf(GiambioError);
    expect((error as Error).message).toContain("run() cannot be nested");
  });

  test("use outside a running loop is 'giambio is not running'", async () => {
    expect(() => currentTask()).toThrow("giambio is not running");
    expect(() => clock()).toThrow("giambio is not running");
    await expect(sleep(1)).rejects.toThrow("giambio is not running");
    await expect(checkpoint()).rejects.toThrow("giambio is not running");
    await expect(withPool(async () => {})).rejects.toThrow("giambio is not running");
    await expect(withTimeout(1, async () => {})).rejects.toThrow("giambio is not running");
  });

  test("a callback registered by a finished task is outside the loop", async () => {
    let later: Promise<unknown> = Promise.resolve();
    await run(async () => {
      later = new Promise((resolve) => setTimeout(() => resolve(sleep(1).catch((e) => e)), 5));
    });
    expect(((await later) as Error).message).toContain("giambio is not running");
  });

  test("a Scheduler instance runs main and can run again once finished", async () => {
    const scheduler = new Scheduler({ handleSignals: false });
    expect(await scheduler.run(async () => "one")).toBe("one");
    expect(await scheduler.run(async () => "two")).toBe("two");
  });
});

describe("bad input", () => {
  test("durations: negative, NaN and non-numbers are rejected naming the value", async () => {
    await run(async () => {
      await expect(sleep(-1)).rejects.toThrow(
        new RangeError("sleep(ms) must be a non-negative number of milliseconds, got -1"),
      );
      await expect(sleep(Number.NaN)).rejects.toBeInstanceOf(RangeError);
      await expect(sleep("10" as unknown as number)).rejects.toThrow(
        new TypeError('sleep(ms) must be a number of milliseconds, got "10"'),
      );
      await expect(sleepUntil(Number.NaN)).rejects.toBeInstanceOf(RangeError);
      await expect(withTimeout(-5, async () => {})).rejects.toThrow("withTimeout(ms)");
      await expect(skipAfter(Number.NaN, async () => {})).rejects.toThrow("skipAfter(ms)");
      await expect(withPool(async () => {}, { timeout: -1 })).rejects.toThrow("timeout");
      // The loop is still usable afterwards.
      await sleep(1);
    });
  });

  test("functions: non-functions are rejected naming the value", async () => {
    await expect(run(42 as unknown as () => void)).rejects.toThrow(
      new TypeError("run(main) must be a function, got 42"),
    );
    await run(async () => {
      await expect(withPool(null as unknown as () => void)).rejects.toThrow(
        "withPool(body) must be a function, got null",
      );
      await expect(withTimeout(5, {} as unknown as () => void)).rejects.toThrow(
        "withTimeout(ms, body) must be a function, got an object",
      );
      await withPool(async (pool) => {
        expect(() => pool.spawn("x" as unknown as () => void)).toThrow(
          'pool.spawn(fn) must be a function, got "x"',
        );
        expect(() => pool.spawnNamed(3 as unknown as string, async () => {})).toThrow(
          "pool.spawnNamed(name) must be a string, got 3",
        );
      });
    });
  });

  test("a task waiting on two things at once is told to use a pool", async () => {
    await run(async () => {
      const [, second] = await Promise.allSettled([sleep(5), sleep(5)]);
      expect(second.status).toBe("rejected");
      expect(((second as PromiseRejectedResult).reason as Error).message).toContain(
        "already waiting on sleep(5)",
      );
      await withPool(async (pool) => {
        // With another task ahead of it, a checkpoint leaves the caller queued for a while.
        pool.spawn(checkpoint);
        const queued = checkpoint();
        await expect(sleep(1)).rejects.toThrow("already waiting on checkpoint()");
        await queued;
      });
      await sleep(1);
    });
  });
});

describe("the loop", () => {
  test("a task looping on checkpoint() starves neither timers nor other tasks", async () => {
    await run(async () => {
      let spins = 0;
      let otherRan = 0;
      const start = performance.now();
      await withPool(async (pool) => {
        pool.spawn(async () => {
          for (;;) {
            spins++;
            // If timers starved, the sleep below would never end: fail here instead of hanging.
            if (spins > 2_000_000) throw new Error("the 20 ms sleep never fired: timers starved");
            await checkpoint();
          }
        });
        pool.spawn(async () => {
          for (let i = 0; i < 5; i++) {
            otherRan++;
            await checkpoint();
          }
        });
        await sleep(20);
        pool.cancel();
      });
      expect(otherRan).toBe(5);
      expect(spins).toBeGreaterThan(10);
      expect(performance.now() - start).toBeLessThan(1000);
    });
  });

  test("ready tasks run in FIFO order, each once per iteration", async () => {
    const order: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        for (const name of ["a", "b", "c"]) {
          pool.spawn(async () => {
            for (let i = 0; i < 3; i++) {
              order.push(`${name}${i}`);
              await checkpoint();
            }
          });
        }
      });
    });
    expect(order).toEqual(["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]);
  });

  test("a task awaiting a foreign promise does not block the others", async () => {
    const order: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          order.push("foreign done");
          await sleep(1);
          order.push("foreign slept");
        });
        pool.spawn(async () => {
          for (let i = 0; i < 3; i++) await checkpoint();
          order.push("other done");
          await sleep(5);
          order.push("other slept");
        });
      });
    });
    expect(order).toEqual(["other done", "other slept", "foreign done", "foreign slept"]);
  });

  test("a child that parks after plain awaits, outside any step, is still woken", async () => {
    let woke = false;
    await within(
      2000,
      "the child sleeping outside any step was never woken",
      run(async () => {
        await withPool(async (pool) => {
          pool.spawn(async () => {
            for (let i = 0; i < 2; i++) await null;
            await sleep(10);
            woke = true;
          });
        });
      }),
    );
    expect(woke).toBe(true);
  });

  test("sleeps with equal deadlines wake in the order they were made", async () => {
    const order: number[] = [];
    await run(async () => {
      const deadline = clock() + 10;
      await withPool(async (pool) => {
        for (let i = 0; i < 5; i++) {
          pool.spawn(async () => {
            await sleepUntil(deadline);
            order.push(i);
          });
        }
      });
    });
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  test("sleepUntil a past instant is a checkpoint", async () => {
    await run(async () => {
      const before = clock();
      await sleepUntil(before - 1000);
      expect(clock() - before).toBeLessThan(50);
    });
  });

  test("clock() is monotonic and in milliseconds", async () => {
    await run(async () => {
      const start = clock();
      await sleep(40);
      const elapsed = clock() - start;
      expect(elapsed).toBeGreaterThanOrEqual(39);
      expect(elapsed).toBeLessThan(800);
    });
  });
});
