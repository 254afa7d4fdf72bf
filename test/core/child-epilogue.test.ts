/**
 * A pool's `childEpilogue` (internal; `serve` ends each connection with it): it runs in the
 * child's task once the child's function settles, sees how it settled and the name the
 * child was spawned with, and decides how the child ends: at once, after a promise, or with
 * the error it throws — which then fails the pool like any child's error.
 */
import { describe, expect, test } from "bun:test";
import type { ChildEpilogue, PoolInternal } from "../../src/core/pool.ts";
import { TASK_NAME, type TaskNamer } from "../../src/core/task.ts";
import { currentTask, type Pool, run, sleep, type Task, withPool } from "../../src/index.ts";

interface Seen {
  name: unknown;
  value: unknown;
  error: unknown;
  failed: boolean;
  task: Task;
}

/** Runs `body` in a pool whose epilogue records what it sees, then does `then(seen)`. */
function withEpilogue(
  then: (seen: Seen) => Promise<unknown> | undefined,
  body: (pool: PoolInternal) => Promise<void> | void,
): Promise<Seen[]> {
  const seen: Seen[] = [];
  const epilogue: ChildEpilogue = (name, value, error, failed) => {
    const entry = { name, value, error, failed, task: currentTask() };
    seen.push(entry);
    return then(entry);
  };
  return run(async () => {
    await withPool(async (pool: Pool) => {
      (pool as PoolInternal).childEpilogue = epilogue;
      await body(pool as PoolInternal);
    });
    return seen;
  });
}

const namer: TaskNamer = { [TASK_NAME]: () => "named-later" };

describe("a pool's child epilogue", () => {
  test("sees each child's outcome and namer, in the child's task; the child then ends with undefined", async () => {
    const tasks: Task[] = [];
    const seen = await withEpilogue(
      () => undefined,
      async (pool) => {
        tasks.push(pool.spawnNamedBy(namer, async () => "later"));
        tasks.push(pool.spawnNamedBy(namer, () => "at once"));
        tasks.push(
          pool.spawnNamedBy(namer, async () => {
            await sleep(1);
            throw new Error("handled by the epilogue");
          }),
        );
      },
    );
    // Functions that finished without waiting (an async one too) end inside spawn, in order.
    expect(seen.map(({ value, failed }) => [value, failed])).toEqual([
      ["later", false],
      ["at once", false],
      [undefined, true],
    ]);
    expect(seen[2]?.error).toEqual(new Error("handled by the epilogue"));
    for (const entry of seen) expect(entry.name).toBe(namer);
    // Each ran in its own child's task, and the child ended well with undefined: the error
    // the epilogue took care of did not fail the pool.
    expect(seen.map((entry) => entry.task)).toEqual(tasks);
    for (const task of tasks) {
      expect(task.state).toBe("finished");
      expect(task.result).toBeUndefined();
    }
    expect(tasks[1]?.name).toBe("named-later");
  });

  test("a promise it returns delays the child's end, and its outcome is the child's", async () => {
    const order: string[] = [];
    let child: Task | undefined;
    const seen = await withEpilogue(
      async () => {
        order.push("epilogue starts");
        await sleep(5);
        order.push("epilogue ends");
        return "from the epilogue";
      },
      async (pool) => {
        child = pool.spawnNamedBy(namer, async () => "handler");
        await sleep(1);
        order.push(`child done while the epilogue waits: ${child.done}`);
      },
    );
    expect(seen).toHaveLength(1);
    expect(order).toEqual([
      "epilogue starts",
      "child done while the epilogue waits: false",
      "epilogue ends",
    ]);
    expect(child?.state).toBe("finished");
    expect(child?.result).toBe("from the epilogue");
  });

  test("an error it throws, or its promise rejects with, fails the child and so the pool", async () => {
    for (const fail of [
      () => {
        throw new Error("thrown by the epilogue");
      },
      () => Promise.reject(new Error("rejected by the epilogue")),
    ]) {
      // The named child fails in its epilogue; the sibling's outcome passes through as is.
      const then = (seen: Seen) => {
        if (seen.name === namer) return fail();
        if (seen.failed) throw seen.error;
        return undefined;
      };
      let sibling: Task | undefined;
      const failure = withEpilogue(then, async (pool) => {
        sibling = pool.spawn(() => sleep(10_000));
        pool.spawnNamedBy(namer, async () => "fine");
      });
      await expect(failure).rejects.toThrow(/by the epilogue/);
      // The sibling was cancelled by the failure, as with any child's error.
      expect(sibling?.state).toBe("cancelled");
    }
  });
});
