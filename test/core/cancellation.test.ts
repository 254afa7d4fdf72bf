/**
 * Cancellation: level-triggered scopes, pool.cancel(), task.cancel(), shields, and the
 * cases where giambio loses tasks or errors.
 */
import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  currentSignal,
  currentTask,
  run,
  shield,
  skipAfter,
  sleep,
  sleepForever,
  type Task,
  until,
  withPool,
} from "../../src/index.ts";

describe("level-triggered cancellation", () => {
  test("a task that catches CancelledError and sleeps again is cancelled again", async () => {
    const seen: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async function stubborn() {
          try {
            await sleepForever();
          } catch (error) {
            seen.push(`first: ${(error as Error).name}`);
          }
          try {
            await sleep(10_000);
            seen.push("slept again (wrong)");
          } catch (error) {
            seen.push(`second: ${(error as Error).name}`);
          }
          try {
            await checkpoint();
            seen.push("checkpoint passed (wrong)");
          } catch (error) {
            seen.push(`third: ${(error as Error).name}`);
            throw error;
          }
        });
        await sleep(10);
        pool.cancel();
      });
      seen.push("pool exited");
    });
    expect(seen).toEqual([
      "first: CancelledError",
      "second: CancelledError",
      "third: CancelledError",
      "pool exited",
    ]);
  });

  test("a task that swallows cancellation and returns ends the pool normally", async () => {
    const child = await run(async () => {
      let swallower: Task<string> | undefined;
      await withPool(async (pool) => {
        swallower = pool.spawn(async function swallower() {
          try {
            await sleepForever();
          } catch {
            return "swallowed";
          }
          return "not cancelled";
        });
        await sleep(10);
        pool.cancel();
      });
      return swallower as Task<string>;
    });
    expect(child.state).toBe("finished");
    expect(child.result).toBe("swallowed");
  });

  test("pool.cancel() reaches every child, the body, and nested pools", async () => {
    const cancelled: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        const napper = (name: string) => async () => {
          try {
            await sleepForever();
          } catch (error) {
            if (error instanceof CancelledError) cancelled.push(name);
            throw error;
          }
        };
        for (const name of ["a", "b", "c", "d"]) pool.spawn(napper(name));
        pool.spawn(async () => {
          await withPool(async (inner) => {
            inner.spawn(napper("inner1"));
            inner.spawn(napper("inner2"));
          });
        });
        await sleep(10);
        pool.cancel();
        expect(pool.cancelled).toBe(true);
        try {
          await sleepForever();
        } catch (error) {
          cancelled.push("body");
          throw error;
        }
      });
    });
    expect(cancelled.sort()).toEqual(["a", "b", "body", "c", "d", "inner1", "inner2"]);
  });

  test("cancelling a task that is running (not parked) raises at its next checkpoint", async () => {
    const seen: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        const busy = pool.spawn(async function busy() {
          // Already rescheduled by its first checkpoint when the sibling cancels it: it
          // resumes, and the cancellation is raised at its next checkpoint.
          await checkpoint();
          seen.push("resumed");
          await checkpoint();
          seen.push("after checkpoint (wrong)");
        });
        pool.spawn(async function canceller() {
          busy.cancel();
          seen.push("cancelled busy");
        });
      });
    });
    expect(seen).toEqual(["cancelled busy", "resumed"]);
  });

  test("task.cancel() cancels that task only and its CancelledError is absorbed", async () => {
    await run(async () => {
      const finished: string[] = [];
      await withPool(async (pool) => {
        const victim = pool.spawn(async function victim() {
          await sleep(1000);
        });
        pool.spawn(async function survivor() {
          await sleep(20);
          finished.push("survivor");
        });
        victim.cancel();
      });
      expect(finished).toEqual(["survivor"]);
    });
  });

  test("cancel() on a finished task is a no-op", async () => {
    await run(async () => {
      await withPool(async (pool) => {
        const task = pool.spawn(async () => 5);
        await task.join();
        task.cancel();
        expect(task.state).toBe("finished");
        expect(task.result).toBe(5);
      });
    });
  });
});

describe("shield", () => {
  test("a shielded block finishes despite an outer cancellation, which lands afterwards", async () => {
    const seen: string[] = [];
    await run(async () => {
      await skipAfter(20, async () => {
        try {
          await sleepForever();
        } finally {
          await shield(async () => {
            await sleep(30);
            seen.push("cleanup done");
          });
          try {
            await checkpoint();
          } catch (error) {
            seen.push(`then ${(error as Error).name}`);
            // biome-ignore lint/correctness/noUnsafeFinally: rethrowing the cancellation is the point
            throw error;
          }
        }
      });
    });
    expect(seen).toEqual(["cleanup done", "then CancelledError"]);
  });

  test("a deadline inside a shield still works", async () => {
    await run(async () => {
      await withPool(async (pool) => {
        pool.cancel();
        const value = await shield(() => skipAfter(10, () => sleepForever()));
        expect(value).toBeUndefined();
      });
    });
  });
});

describe("until and currentSignal", () => {
  test("until resolves with the foreign promise's value and rethrows its error", async () => {
    await run(async () => {
      expect(await until(Promise.resolve(7))).toBe(7);
      const boom = new Error("boom");
      expect(until(Promise.reject(boom))).rejects.toBe(boom);
      await expect(until(new Promise((r) => setTimeout(() => r("late"), 10)))).resolves.toBe(
        "late",
      );
    });
  });

  test("until on a never-settling promise unwinds at the deadline", async () => {
    const start = performance.now();
    const result = await run(() => skipAfter(30, () => until(new Promise(() => {}))));
    expect(result).toBeUndefined();
    expect(performance.now() - start).toBeLessThan(2000);
  });

  test("a foreign rejection after cancellation is handled, never unhandled", async () => {
    await run(async () => {
      await skipAfter(5, () => until(new Promise((_, reject) => setTimeout(reject, 20))));
      await sleep(40);
    });
  });

  test("until rejects a non-promise with a TypeError naming the value", async () => {
    await run(async () => {
      await expect(until(42 as unknown as Promise<number>)).rejects.toThrow(
        "until(promise) needs a promise or thenable, got 42",
      );
    });
  });

  test("currentSignal aborts when the scope is cancelled, not before", async () => {
    await run(async () => {
      let signal: AbortSignal | undefined;
      await skipAfter(20, async () => {
        signal = currentSignal();
        expect(signal.aborted).toBe(false);
        await sleepForever();
      });
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBeInstanceOf(CancelledError);
      expect(currentSignal().aborted).toBe(false);
    });
  });

  test("currentSignal cancels a real fetch-like operation", async () => {
    await run(async () => {
      const outcome = await skipAfter(20, async () => {
        const signal = currentSignal();
        const aborted = new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason)),
        );
        return until(aborted);
      });
      expect(outcome).toBeUndefined();
    });
  });

  test("currentSignal inside an already cancelled scope is aborted at once", async () => {
    await run(async () => {
      await withPool(async (pool) => {
        pool.cancel();
        expect(currentSignal().aborted).toBe(true);
        await shield(async () => {
          expect(currentSignal().aborted).toBe(false);
        });
      });
    });
  });

  test("currentTask names the calling task", async () => {
    await run(async function main() {
      expect(currentTask().name).toBe("main");
      await withPool(async (pool) => {
        const child = pool.spawn(async function worker() {
          return currentTask().name;
        });
        expect(await child.join()).toBe("worker");
        const anonymous = pool.spawn(() => currentTask().name);
        expect(await anonymous.join()).toBe(`task-${anonymous.id}`);
        const named = pool.spawnNamed("127.0.0.1:5000", async () => currentTask().name);
        expect(await named.join()).toBe("127.0.0.1:5000");
      });
    });
  });
});
