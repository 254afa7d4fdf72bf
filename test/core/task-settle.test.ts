/**
 * When a task's outcome is recorded. A task whose function returns without suspending is
 * settled by the loop in a microtask of its own (not through a reaction to its promise);
 * that microtask must run exactly where the reaction would have, deliver each task its own
 * value, and leave the task "running" until then.
 */
import { describe, expect, test } from "bun:test";
import { currentTask, run, sleep, sleepForever, type Task, withPool } from "../../src/index.ts";

describe("a task that returns without suspending", () => {
  test("is running when spawn returns and finished by the next microtask queued after it", async () => {
    const seen = await run(() =>
      withPool((pool) => {
        const seen: string[] = [];
        let task: Task<number> | undefined;
        Promise.resolve().then(() => seen.push(`before: ${task?.state}`));
        task = pool.spawn(async () => 1);
        seen.push(`at once: ${task.state}`);
        Promise.resolve().then(() => seen.push(`after: ${task?.state} ${task?.result}`));
        return new Promise<string[]>((resolve) => setTimeout(() => resolve(seen), 1));
      }),
    );
    expect(seen).toEqual(["at once: running", "before: running", "after: finished 1"]);
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

  test("keeps its value when a microtask it queued parks it before it is settled", async () => {
    const task = await run(() =>
      withPool((pool) =>
        pool.spawn(() => {
          // Runs in the task's context before the task is settled, and parks it (a wait the
          // task never awaits): its outcome is still the value it returned.
          Promise.resolve().then(() => sleepForever().catch(() => {}));
          return 7;
        }),
      ),
    );
    expect(task.state).toBe("finished");
    expect(task.result).toBe(7);
  });

  test("is the current task in code it scheduled before it was settled, and not after", async () => {
    const seen = await run(() =>
      withPool((pool) => {
        const seen: boolean[] = [];
        const task = pool.spawn(() => {
          const self = currentTask();
          Promise.resolve().then(() => seen.push(currentTaskOrNull() === self));
          setTimeout(() => seen.push(currentTaskOrNull() === null), 0);
        });
        return task.join().then(() => new Promise<boolean[]>((r) => setTimeout(() => r(seen), 5)));
      }),
    );
    expect(seen).toEqual([true, true]);
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
