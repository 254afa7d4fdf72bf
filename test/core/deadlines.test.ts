/**
 * Deadlines and the bridges to foreign promises: withTimeout, skipAfter and
 * withPool({ timeout }); shield; until and currentSignal. Tests ported from giambio's own
 * scripts say so above them; one second of those scripts is SCRIPT_SECOND ms here.
 */
import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  currentSignal,
  Event,
  MockClock,
  run,
  Scheduler,
  shield,
  skipAfter,
  sleep,
  sleepForever,
  TooSlowError,
  until,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { expectAround, Timeline } from "../support/timeline.ts";

/** giambio's scripts count in seconds: one of their seconds is this many ms in the tests ported from them. */
const SCRIPT_SECOND = 40;

describe("withTimeout and skipAfter", () => {
  test("withPool({ timeout }) is a withTimeout", async () => {
    const error = await run(() => withPool(() => sleepForever(), { timeout: 10 }).catch((e) => e));
    expect(error).toBeInstanceOf(TooSlowError);
    expect((error as TooSlowError).timeout).toBe(10);
    expect((error as Error).message).toBe("the operation timed out after 10 ms");
  });

  test("a skipAfter that finished early never fires later", async () => {
    await run(async () => {
      const value = await skipAfter(20, async () => "quick");
      expect(value).toBe("quick");
      // If the stale deadline fired, this sleep would be cancelled (and the run would fail).
      await sleep(50);
      const again = await withTimeout(20, async () => "quick too");
      expect(again).toBe("quick too");
      await sleep(50);
    });
  });

  test("the body's value is returned when it beats the deadline", async () => {
    expect(await run(() => withTimeout(100, async () => 3))).toBe(3);
    expect(await run(() => skipAfter(100, async () => 4))).toBe(4);
  });

  test("an error inside withTimeout wins over the timeout", async () => {
    const error = await run(() =>
      withTimeout(10, async () => {
        try {
          await sleepForever();
        } finally {
          // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
          throw new URIError("cleanup");
        }
      }).catch((e) => e),
    );
    expect(error).toBeInstanceOf(URIError);
  });

  // trio's `cancelled_caught`: a deadline reports a timeout only when its cancellation cut
  // something short; otherwise "not sent" would be a lie and a retry would duplicate.
  test("skipAfter keeps the value of a body whose wait completed before the deadline fired", async () => {
    const clock = new MockClock();
    let result: string | undefined;
    await new Scheduler({ clock }).run(async () => {
      const event = new Event<string>();
      await withPool(async (pool) => {
        pool.spawn(async () => {
          result = await skipAfter(10, () => event.wait());
        });
        event.set("delivered"); // the waiter is woken with the value...
        clock.jump(10); // ...and the deadline passes before it resumes
      });
    });
    expect(result).toBe("delivered");
  });

  // Port of giambio's tests/timeout.py (github.com/nocturn9x/giambio).
  test("withTimeout over spawned children and a direct await", async () => {
    const t = new Timeline(SCRIPT_SECOND);
    async function child(units: number) {
      try {
        await sleep(units * SCRIPT_SECOND);
        t.mark(`child(${units}) done`);
      } catch (error) {
        t.mark(`child(${units}) cancelled`);
        throw error;
      }
    }
    const caught = await run(async () => {
      try {
        await withTimeout(12 * SCRIPT_SECOND, async (pool) => {
          pool.spawn(child, 7);
          await sleep(2 * SCRIPT_SECOND);
          pool.spawn(child, 15);
          await child(20);
        });
      } catch (error) {
        t.mark("main caught");
        return error;
      }
    });
    expect(caught).toBeInstanceOf(TooSlowError);
    expect(t.labels).toEqual([
      "child(7) done",
      "child(20) cancelled",
      "child(15) cancelled",
      "main caught",
    ]);
    expectAround(t.unitsAt("main caught"), 12);
  });

  // Port of giambio's tests/timeout2.py (github.com/nocturn9x/giambio).
  test("skipAfter ends the block quietly and sets timedOut", async () => {
    const t = new Timeline(SCRIPT_SECOND);
    async function child(units: number) {
      await sleep(units * SCRIPT_SECOND);
      t.mark(`child(${units}) done`);
    }
    await run(async () => {
      const value = await skipAfter(10 * SCRIPT_SECOND, async (pool) => {
        pool.spawn(child, 7);
        await sleep(2 * SCRIPT_SECOND);
        pool.spawn(child, 15);
        await child(20);
        return "finished";
      });
      t.mark("block ended");
      expect(value).toBeUndefined();
    });
    expect(t.labels).toEqual(["child(7) done", "block ended"]);
    expectAround(t.unitsAt("block ended"), 10);
  });

  // Port of giambio's tests/timeout2.py (github.com/nocturn9x/giambio).
  test("pool.timedOut is true after the deadline fired", async () => {
    await run(async () => {
      let seen: boolean | undefined;
      await skipAfter(SCRIPT_SECOND, async (pool) => {
        try {
          await sleep(5 * SCRIPT_SECOND);
        } finally {
          seen = pool.timedOut;
        }
      });
      expect(seen).toBe(true);
    });
  });

  // Port of giambio's tests/timeout3.py (github.com/nocturn9x/giambio).
  test("a nested deadline fires first, the outer one later", async () => {
    const t = new Timeline(SCRIPT_SECOND);
    const caught = await run(async () => {
      try {
        await withTimeout(5 * SCRIPT_SECOND, async () => {
          try {
            await withTimeout(2 * SCRIPT_SECOND, async (pool) => {
              pool.spawn(sleep, 5 * SCRIPT_SECOND);
            });
          } catch (error) {
            expect(error).toBeInstanceOf(TooSlowError);
            t.mark("worker caught its timeout");
          }
          await sleep(10 * SCRIPT_SECOND);
          t.mark("worker slept");
        });
      } catch (error) {
        t.mark("main caught");
        return error;
      }
    });
    expect(caught).toBeInstanceOf(TooSlowError);
    expect(t.labels).toEqual(["worker caught its timeout", "main caught"]);
    expectAround(t.unitsAt("worker caught its timeout"), 2);
    expectAround(t.unitsAt("main caught"), 5);
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
});
