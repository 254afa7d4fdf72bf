/**
 * When a task's outcome is recorded. A spawned task whose function returns without
 * suspending has finished when `spawn` returns, as an async function's promise has settled
 * when the call returns: no microtask or reaction is left to settle it, and code it left
 * scheduled runs in no task. The root task (and a task that suspended) is settled by a
 * reaction to its promise.
 */
import { describe, expect, test } from "bun:test";
import {
  checkpoint,
  currentTask,
  run,
  sleep,
  sleepForever,
  type Task,
  withPool,
} from "../../src/index.ts";

describe("a task that returns without suspending", () => {
  test("has finished when spawn returns, with its value, and its pool does not wait for it", async () => {
    const seen = await run(() =>
      withPool((pool) => {
        const seen: string[] = [];
        const task = pool.spawn(async () => 1);
        const plain = pool.spawn(() => "plain");
        seen.push(`${task.state} ${task.result} ${task.done}`, `${plain.state} ${plain.result}`);
        seen.push(`children: ${pool.tasks.length}`);
        return seen;
      }),
    );
    expect(seen).toEqual(["finished 1 true", "finished plain", "children: 0"]);
  });

  test("has finished while a task spawned before it, which suspended, still runs", async () => {
    const order: string[] = [];
    await run(() =>
      withPool((pool) => {
        const slow = pool.spawn(async () => {
          await checkpoint();
          order.push("slow returned");
        });
        const quick = pool.spawn(() => order.push("quick returned"));
        order.push(`quick ${quick.state}, slow ${slow.state}`);
      }),
    );
    expect(order).toEqual(["quick returned", "quick finished, slow running", "slow returned"]);
  });

  test("settles in spawn order, each with its own value, among tasks that suspend", async () => {
    const results = await run(() =>
      withPool(async (pool) => {
        const tasks: Task<unknown>[] = [];
        for (let i = 0; i < 50; i++) {
          if (i % 3 === 0) tasks.push(pool.spawn(async () => sleep(1).then(() => `slept ${i}`)));
          else if (i % 3 === 1) tasks.push(pool.spawn(async () => i));
          else tasks.push(pool.spawn(() => ({ plain: i })));
        }
        const results: unknown[] = [];
        for (const task of tasks) results.push(await task.join());
        return results;
      }),
    );
    for (let i = 0; i < 50; i++) {
      expect(results[i]).toEqual(i % 3 === 0 ? `slept ${i}` : i % 3 === 1 ? i : { plain: i });
    }
  });

  test("keeps its value when code it left scheduled tries to wait", async () => {
    let refused: unknown;
    const task = await run(() =>
      withPool((pool) =>
        pool.spawn(() => {
          // Runs after the task has finished, in its async context: no task of the loop.
          Promise.resolve().then(() => sleepForever().catch((error) => (refused = error)));
          return 7;
        }),
      ),
    );
    expect(String(refused)).toContain("giambio is not running");
    expect(task.state).toBe("finished");
    expect(task.result).toBe(7);
  });

  test("is the current task while its function runs, and not in code it left scheduled", async () => {
    const seen = await run(() =>
      withPool((pool) => {
        const seen: boolean[] = [];
        const task = pool.spawn(() => {
          seen.push(currentTaskOrNull() !== null);
          Promise.resolve().then(() => seen.push(currentTaskOrNull() === null));
          setTimeout(() => seen.push(currentTaskOrNull() === null), 0);
        });
        return task.join().then(() => new Promise<boolean[]>((r) => setTimeout(() => r(seen), 5)));
      }),
    );
    expect(seen).toEqual([true, true, true]);
  });
});

describe("pool.spawn(fn, ...args)", () => {
  test("passes no arguments, one, or several, and each task its own", async () => {
    const seen = await run(() =>
      withPool(async (pool) => {
        const record = (...args: unknown[]) => args;
        const none = pool.spawn(record);
        const one = pool.spawn(record, 1);
        const several = pool.spawn(record, "a", undefined, 3);
        const again = pool.spawn(record);
        return [await none.join(), await one.join(), await several.join(), await again.join()];
      }),
    );
    expect(seen).toEqual([[], [1], ["a", undefined, 3], []]);
  });
});

function currentTaskOrNull(): Task | null {
  try {
    return currentTask();
  } catch {
    return null;
  }
}
