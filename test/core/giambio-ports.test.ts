/**
 * giambio's own behaviour scripts (tests/*.py), with their intended outcomes (see
 * GIAMBIO-TESTS.md). One second of the scripts is one `U` here.
 */
import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  clock,
  run,
  skipAfter,
  sleep,
  TooSlowError,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { expectAround, Timeline } from "../support/timeline.ts";

const U = 40;

describe("giambio test scripts", () => {
  test("sleep.py: two sleeping children; spawn runs each to its first suspension", async () => {
    const t = new Timeline(U);
    async function child(name: string, units: number) {
      t.mark(`${name} spawned`);
      await sleep(units * U);
      t.mark(`${name} done`);
    }
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(child, "child", 4);
        pool.spawn(child, "child1", 2);
        t.mark("main awaiting completion");
      });
      t.mark("pool exited");
    });
    expect(t.labels).toEqual([
      "child spawned",
      "child1 spawned",
      "main awaiting completion",
      "child1 done",
      "child done",
      "pool exited",
    ]);
    expectAround(t.unitsAt("child1 done"), 2);
    expectAround(t.unitsAt("child done"), 4);
    expectAround(t.unitsAt("pool exited"), 4);
  });

  test("cancel.py: cancel() returns at once and the child unwinds at once", async () => {
    const t = new Timeline(U);
    async function child(units: number) {
      try {
        await sleep(units * U);
        t.mark(`child(${units}) done`);
      } catch (error) {
        t.mark(`child(${units}) cancelled`);
        throw error;
      }
    }
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(child, 1);
        const second = pool.spawn(child, 2);
        second.cancel();
        t.mark("main after cancel");
        await sleep(0);
        expect(second.state).toBe("cancelled");
        expect(second.error).toBeInstanceOf(CancelledError);
      });
      t.mark("pool exited");
    });
    expect(t.labels).toEqual([
      "main after cancel",
      "child(2) cancelled",
      "child(1) done",
      "pool exited",
    ]);
    expectAround(t.unitsAt("child(2) cancelled"), 0, 0.5);
    expectAround(t.unitsAt("pool exited"), 1);
  });

  test("exceptions.py: a child's error cancels its sibling and reaches main unchanged", async () => {
    const t = new Timeline(U);
    const rip = new TypeError("rip");
    const caught = await run(async () => {
      try {
        await withPool(async (pool) => {
          pool.spawn(async function child() {
            await sleep(2 * U);
            throw rip;
          });
          pool.spawn(async function child1() {
            await sleep(8 * U);
            t.mark("child1 had a nap");
          });
        });
      } catch (error) {
        t.mark("main caught");
        return error;
      }
    });
    expect(caught).toBe(rip);
    expect(t.labels).toEqual(["main caught"]);
    expectAround(t.unitsAt("main caught"), 2);
  });

  test("nested_exception.py: an error in the outer pool cancels the inner pool too", async () => {
    const t = new Timeline(U);
    const napper = (units: number) =>
      async function child() {
        await sleep(units * U);
        t.mark(`nap ${units}`);
      };
    const caught = await run(async () => {
      try {
        await withPool(async (outer) => {
          outer.spawn(async function child() {
            await sleep(2 * U);
            throw new TypeError("rip");
          });
          outer.spawn(napper(2.5));
          await withPool(async (inner) => {
            inner.spawn(napper(4));
            inner.spawn(napper(6));
          });
        });
      } catch (error) {
        t.mark("main caught");
        return error;
      }
    });
    expect(caught).toBeInstanceOf(TypeError);
    expect(t.labels).toEqual(["main caught"]);
    expectAround(t.unitsAt("main caught"), 2);
  });

  test("triple_nested_exception.py: trio semantics, everything is cancelled", async () => {
    const t = new Timeline(U);
    const napper = (units: number) => async () => {
      await sleep(units * U);
      t.mark(`nap ${units}`);
    };
    const caught = await run(async () => {
      try {
        await withPool(async (a) => {
          a.spawn(napper(5));
          a.spawn(napper(5));
          await withPool(async (b) => {
            b.spawn(async () => {
              await sleep(2 * U);
              throw new TypeError("rip");
            });
            await withPool(async (c) => {
              c.spawn(napper(4));
              c.spawn(napper(6));
            });
          });
        });
      } catch (error) {
        t.mark("main caught");
        return error;
      }
    });
    expect(caught).toBeInstanceOf(TypeError);
    expect(t.labels).toEqual(["main caught"]);
    expectAround(t.unitsAt("main caught"), 2);
  });

  test("nested_pool.py: four children in two nested pools finish at 1, 2, 3, 4", async () => {
    const t = new Timeline(U);
    async function child(units: number) {
      await sleep(units * U);
      t.mark(`child(${units})`);
    }
    await run(async () => {
      await withPool(async (outer) => {
        outer.spawn(child, 1);
        outer.spawn(child, 2);
        await withPool(async (inner) => {
          inner.spawn(child, 3);
          inner.spawn(child, 4);
        });
      });
      t.mark("exited");
    });
    expect(t.labels).toEqual(["child(1)", "child(2)", "child(3)", "child(4)", "exited"]);
    expectAround(t.unitsAt("exited"), 4);
  });

  test("timeout.py: withTimeout over spawned children and a direct await", async () => {
    const t = new Timeline(U);
    async function child(units: number) {
      try {
        await sleep(units * U);
        t.mark(`child(${units}) done`);
      } catch (error) {
        t.mark(`child(${units}) cancelled`);
        throw error;
      }
    }
    const caught = await run(async () => {
      try {
        await withTimeout(12 * U, async (pool) => {
          pool.spawn(child, 7);
          await sleep(2 * U);
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

  test("timeout2.py: skipAfter ends the block quietly and sets timedOut", async () => {
    const t = new Timeline(U);
    async function child(units: number) {
      await sleep(units * U);
      t.mark(`child(${units}) done`);
    }
    await run(async () => {
      const value = await skipAfter(10 * U, async (pool) => {
        pool.spawn(child, 7);
        await sleep(2 * U);
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

  test("timeout2.py: pool.timedOut is true after the deadline fired", async () => {
    await run(async () => {
      let seen: boolean | undefined;
      await skipAfter(U, async (pool) => {
        try {
          await sleep(5 * U);
        } finally {
          seen = pool.timedOut;
        }
      });
      expect(seen).toBe(true);
    });
  });

  test("timeout3.py: a nested deadline fires first, the outer one later", async () => {
    const t = new Timeline(U);
    const caught = await run(async () => {
      try {
        await withTimeout(5 * U, async () => {
          try {
            await withTimeout(2 * U, async (pool) => {
              pool.spawn(sleep, 5 * U);
            });
          } catch (error) {
            expect(error).toBeInstanceOf(TooSlowError);
            t.mark("worker caught its timeout");
          }
          await sleep(10 * U);
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

  test("clock() is monotonic and in milliseconds", async () => {
    await run(async () => {
      const start = clock();
      await sleep(U);
      const elapsed = clock() - start;
      expect(elapsed).toBeGreaterThanOrEqual(U - 1);
      expect(elapsed).toBeLessThan(U * 20);
    });
  });
});
