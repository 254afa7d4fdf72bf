/**
 * The current task travels with the async context: every task's function runs inside
 * `taskContext.run(task, ...)`, and JavaScript carries the store across each `await` of that
 * function. Bun's AsyncLocalStorage costs a few ns per lookup, cheaper than threading the
 * task through every call by hand.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { GiambioError } from "../errors.ts";
import type { Task, TaskInternal } from "./task.ts";

export const taskContext = new AsyncLocalStorage<TaskInternal>();

/** The calling task, or `undefined` outside a running loop. */
export function maybeCurrentTask(): TaskInternal | undefined {
  const task = taskContext.getStore();
  // A finished task's context can leak into callbacks it registered (a setTimeout, say);
  // those callbacks are not part of the task any more.
  return task !== undefined && typeof task.resolveWake !== "string" ? task : undefined;
}

/** The calling task. Outside a running loop → `GiambioError("giambio is not running")`. */
export function currentTaskInternal(): TaskInternal {
  const task = maybeCurrentTask();
  if (task === undefined) {
    throw new GiambioError(
      "giambio is not running: call this from inside a task started by run() or spawn()",
    );
  }
  return task;
}

/**
 * The calling task, as users see it (the package's `currentTask`): the same function, typed
 * with the public `Task` interface. Outside a running loop → `GiambioError`.
 */
export const currentTask: () => Task = currentTaskInternal;
