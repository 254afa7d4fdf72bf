/**
 * MockClock: virtual time for timers, deadlines and clock(); autojump when every task is
 * blocked on timers; manual jumps.
 */
import { describe, expect, test } from "bun:test";
import {
  clock,
  MockClock,
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

const runWith = <T>(clock: MockClock, main: () => Promise<T>) =>
  new Scheduler({ clock, handleSignals: false }).run(main);

describe("MockClock", () => {
  test("a 30-second withTimeout finishes in well under a second of wall time", async () => {
    const wallStart = performance.now();
    const error = await runWith(new MockClock({ autojump: true }), async () => {
      const start = clock();
      const caught = await withTimeout(30_000, () => sleepForever()).catch((e) => e);
      expect(clock() - start).toBe(30_000);
      return caught;
    });
    expect(error).toBeInstanceOf(TooSlowError);
    expect(performance.now() - wallStart).toBeLessThan(1000);
  });

  test("autojump visits every deadline in order", async () => {
    const woke: [string, number][] = [];
    await runWith(new MockClock({ autojump: true, start: 100 }), async () => {
      expect(clock()).toBe(100);
      await withPool(async (pool) => {
        for (const [name, ms] of [
          ["c", 3000],
          ["a", 1000],
          ["b", 2000],
        ] as const) {
          pool.spawn(async () => {
            await sleep(ms);
            woke.push([name, clock()]);
          });
        }
      });
      const skipped = await skipAfter(500, () => sleep(10_000));
      expect(skipped).toBeUndefined();
      expect(clock()).toBe(3600);
    });
    expect(woke).toEqual([
      ["a", 1100],
      ["b", 2100],
      ["c", 3100],
    ]);
  });

  test("autojump goes on past a deadline that wakes nobody", async () => {
    await runWith(new MockClock({ autojump: true }), async () => {
      // At 1 ms the deadline fires, but the child is shielded and the body waits for it:
      // nothing was cut short, so the block keeps its value.
      const value = await withTimeout(1, async (pool) => {
        pool.spawn(() => shield(() => sleep(5)));
        return "finished";
      });
      expect(value).toBe("finished");
      expect(clock()).toBe(5);
    });
  });

  test("no autojump while an external wait (until) is in flight", async () => {
    await runWith(new MockClock({ autojump: true }), async () => {
      const value = await skipAfter(5000, () =>
        until(new Promise((resolve) => setTimeout(() => resolve("io first"), 20))),
      );
      // Real time passed for the foreign promise; virtual time did not jump past the deadline.
      expect(value).toBe("io first");
      expect(clock()).toBe(0);
    });
  });

  test("without autojump, time moves only by jump()", async () => {
    const mock = new MockClock();
    const order: string[] = [];
    const done = runWith(mock, async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await sleep(1000);
          order.push(`woke at ${clock()}`);
        });
      });
    });
    await Bun.sleep(20);
    expect(order).toEqual([]);
    mock.jump(999);
    await Bun.sleep(5);
    expect(order).toEqual([]);
    mock.jump(1);
    await done;
    expect(order).toEqual(["woke at 1000"]);
  });

  test("jump() rejects bad input", () => {
    const mock = new MockClock();
    expect(() => mock.jump(-1)).toThrow(RangeError);
    expect(() => mock.jump(Number.NaN)).toThrow("MockClock.jump(ms)");
  });
});
