/**
 * The current task travels with the async context: every task's function runs inside
 * `taskContext.run(task, ...)`, and JavaScript carries the store across each `await` of that
 * function. Bun's AsyncLocalStorage costs a few ns per lookup, cheaper than threading the
 * task through every call by hand.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { GiambioError } from "../errors.ts";
import type { Task } from "./task.ts";

export const taskContext = new AsyncLocalStorage<Task>();

/** The calling task, or `undefined` outside a running loop. */
export function maybeCurrentTask(): Task | undefined {
  const task = taskContext.getStore();
  // A finished task's context can leak into callbacks it registered (a setTimeout, say);
  // those callbacks are not part of the task any more.
  return task !== undefined && task.state === "running" ? task : undefined;
}

/** The calling task. Outside a running loop → `GiambioError("giambio is not running")`. */
export function currentTask(): Task {
  const task = maybeCurrentTask();
  if (task === undefined) {
    throw new GiambioError(
      "giambio is not running: call this from inside a task started by run() or spawn()",
    );
  }
  return task;
}
