/**
 * Cancellation: level-triggered scopes, pool.cancel(), task.cancel(), and the cases where
 * giambio loses tasks or errors (deadlines, shields and until: deadlines.test.ts).
 */
import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  currentTask,
  run,
  sleep,
  sleepForever,
  type Task,
  withPool,
} from "../../src/index.ts";
import { expectAround, Timeline } from "../support/timeline.ts";

/** giambio's scripts count in seconds: one of their seconds is this many ms in the tests ported from them. */
const SCRIPT_SECOND = 40;

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

  // Port of giambio's tests/cancel.py (github.com/nocturn9x/giambio).
  test("cancel() returns at once and the child unwinds at once", async () => {
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
});

describe("the loop's count of cancelled scopes (checkpoints skip the scope walk at zero)", () => {
  test("cancelled scopes that came and went, and cancels of finished tasks, leave later cancels working", async () => {
    const outcomes: string[] = [];
    await run(async () => {
      for (let round = 0; round < 3; round++) {
        // A pool cancelled and left: counted while it is in the tree, not after.
        await withPool(async (pool) => {
          pool.spawn(sleepForever);
          pool.cancel();
        });
        // A finished task cancelled: it is out of the tree, so it counts for nothing.
        let finished: Task | undefined;
        await withPool(async (pool) => {
          finished = pool.spawn(async () => {});
        });
        finished?.cancel();
        finished?.cancel();
        await checkpoint();
        // A running task cancelled now must still see it at its next checkpoint.
        await withPool(async (pool) => {
          const task = pool.spawn(async () => {
            for (;;) await checkpoint();
          });
          await checkpoint();
          task.cancel();
          try {
            await task.join();
          } catch (error) {
            outcomes.push(`${task.state}: ${(error as Error).name}`);
          }
        });
      }
    });
    expect(outcomes).toEqual([
      "cancelled: CancelledError",
      "cancelled: CancelledError",
      "cancelled: CancelledError",
    ]);
  });
});

describe("currentTask", () => {
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

  test("a function whose name cannot be read (a throwing Proxy, a non-string) is task-<id>", async () => {
    // Only `name` throws: the scheduler still reads `apply` to call the function.
    const nameThrows: ProxyHandler<() => string> = {
      get(target, key) {
        if (key === "name") throw new Error("the Proxy's own error");
        return Reflect.get(target, key);
      },
    };
    const hostile = new Proxy(() => currentTask().name, nameThrows);
    const numbered = () => currentTask().name;
    Object.defineProperty(numbered, "name", { value: 42 });
    await run(async () => {
      await withPool(async (pool) => {
        const spawned = pool.spawn(hostile);
        expect(await spawned.join()).toBe(`task-${spawned.id}`);
        const other = pool.spawn(numbered);
        expect(await other.join()).toBe(`task-${other.id}`);
        const starter = (done: (value: string) => void) => done(currentTask().name);
        const started = await pool.start(
          new Proxy(starter, nameThrows as unknown as ProxyHandler<typeof starter>),
        );
        expect(started).toMatch(/^task-\d+$/);
      });
    });
  });
});
