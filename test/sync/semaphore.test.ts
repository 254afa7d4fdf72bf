import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  GiambioError,
  run,
  Semaphore,
  skipAfter,
  sleep,
  withPool,
} from "../../src/index.ts";

describe("Semaphore", () => {
  test("at most n holders at once; value counts the free permits", async () => {
    const semaphore = new Semaphore(3);
    expect(semaphore.value).toBe(3);
    expect(semaphore.maxValue).toBe(3);
    let inside = 0;
    let maxInside = 0;
    await run(async () => {
      await withPool(async (pool) => {
        for (let i = 0; i < 10; i++) {
          pool.spawn(() =>
            semaphore.withPermit(async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              await sleep(2);
              inside--;
            }),
          );
        }
      });
    });
    expect(maxInside).toBe(3);
    expect(semaphore.value).toBe(3);
  }, 5000);

  test("waiters get permits in the order they asked", async () => {
    const semaphore = new Semaphore(1);
    const order: number[] = [];
    await run(async () => {
      await semaphore.acquire();
      await withPool(async (pool) => {
        for (let i = 0; i < 50; i++) {
          pool.spawn(() => semaphore.withPermit(() => order.push(i)));
        }
        expect(semaphore.statistics().tasksWaiting).toBe(50);
        semaphore.release();
      });
    });
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(semaphore.value).toBe(1);
  });

  test("release() hands the permit to the first waiter: value stays 0", async () => {
    const semaphore = new Semaphore(1);
    await run(async () => {
      await withPool(async (pool) => {
        await semaphore.acquire();
        pool.spawn(() => semaphore.acquire());
        semaphore.release();
        expect(semaphore.value).toBe(0);
        expect(semaphore.statistics().tasksWaiting).toBe(0);
      });
    });
    expect(semaphore.value).toBe(0); // the waiter took it and kept it
  });

  test("release() above the maximum → GiambioError naming the value", async () => {
    const semaphore = new Semaphore(2);
    expect(() => semaphore.release()).toThrow(GiambioError);
    expect(() => semaphore.release()).toThrow(/maximum of 2 permits \(value 2\)/);
    expect(semaphore.value).toBe(2);
  });

  test("maxValue above initialValue lets release() add permits up to it", () => {
    const semaphore = new Semaphore(0, 2);
    semaphore.release();
    semaphore.release();
    expect(semaphore.value).toBe(2);
    expect(() => semaphore.release()).toThrow(/maximum of 2 permits/);
    const unbounded = new Semaphore(0, Number.POSITIVE_INFINITY);
    for (let i = 0; i < 5; i++) unbounded.release();
    expect(unbounded.value).toBe(5);
  });

  test("bad initialValue or maxValue → clear errors", () => {
    expect(() => new Semaphore(-1)).toThrow(
      "new Semaphore(initialValue) must be an integer >= 0, got -1",
    );
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
    // @ts-expect-error a deliberately bad argument
    expect(() => new Semaphore("3")).toThrow(TypeError);
    expect(() => new Semaphore(3, 2)).toThrow(
      "new Semaphore(initialValue, maxValue): maxValue must be >= initialValue (3), got 2",
    );
  });

  test("a waiter cancelled before the hand-off leaks no permit", async () => {
    const semaphore = new Semaphore(1);
    const holders: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        await semaphore.acquire();
        const doomed = pool.spawn(() => semaphore.withPermit(() => holders.push("doomed")));
        pool.spawn(() => semaphore.withPermit(() => holders.push("next")));
        doomed.cancel();
        await checkpoint();
        expect(doomed.state).toBe("cancelled");
        expect(semaphore.statistics().tasksWaiting).toBe(1);
        semaphore.release();
      });
    });
    expect(holders).toEqual(["next"]);
    expect(semaphore.value).toBe(1);
    expect(semaphore.statistics().tasksWaiting).toBe(0);
  });

  test("a waiter cancelled right after the hand-off gives the permit back via withPermit", async () => {
    const semaphore = new Semaphore(1);
    await run(async () => {
      await withPool(async (pool) => {
        await semaphore.acquire();
        const waiter = pool.spawn(() => semaphore.withPermit(() => checkpoint()));
        semaphore.release();
        waiter.cancel();
        await checkpoint();
        expect(waiter.state).toBe("cancelled");
      });
    });
    expect(semaphore.value).toBe(1);
  });

  test("acquire() in a cancelled scope → CancelledError, even with a free permit", async () => {
    const semaphore = new Semaphore(1);
    await run(async () => {
      await withPool(async (pool) => {
        pool.cancel();
        await expect(semaphore.acquire()).rejects.toBeInstanceOf(CancelledError);
      });
    });
    expect(semaphore.value).toBe(1);
  });

  test("acquire() under skipAfter gives up and leaves no waiter", async () => {
    const semaphore = new Semaphore(0, 1);
    await run(async () => {
      expect(await skipAfter(15, () => semaphore.acquire())).toBeUndefined();
    });
    expect(semaphore.statistics().tasksWaiting).toBe(0);
    semaphore.release();
    expect(semaphore.value).toBe(1);
  }, 5000);
});
