/**
 * The park/wake API as the package exports it, for users writing their own primitives: the
 * functions of park.ts with their arguments checked. giambio's own primitives call park.ts
 * directly, so the checks cost the hot path nothing.
 */
import { hasMethod, isInstance } from "../arguments.ts";
import { describe } from "../errors.ts";
import type { Blocker } from "./park.ts";
import * as internal from "./park.ts";
import { type Task, TaskInternal } from "./task.ts";

export type { Blocker };

function checkTask(what: string, task: unknown): asserts task is Task {
  if (!isInstance(task, TaskInternal)) {
    throw new TypeError(`${what} must be a task (from currentTask()), got ${describe(task)}`);
  }
}

function checkBlocker(blocker: unknown): asserts blocker is Blocker {
  const ok =
    hasMethod(blocker, "abortWait") &&
    hasMethod(blocker, "describeWait") &&
    typeof (blocker as Blocker).external === "boolean" &&
    typeof (blocker as Blocker).cancellable === "boolean";
  if (!ok) {
    throw new TypeError(
      `park(task, blocker) must be a Blocker ({ external, cancellable, abortWait(task), describeWait(task) }), got ${describe(blocker)}`,
    );
  }
}

/**
 * Parks `task` (the calling task, from `currentTask()`) on `blocker` until `wake` or
 * `wakeWithError`; rejects with `CancelledError` when its scope is cancelled (after calling
 * `blocker.abortWait(task)`), and with a `TypeError` for bad arguments.
 */
export function park<T>(task: Task, blocker: Blocker): Promise<T> {
  try {
    checkTask("park(task)", task);
    checkBlocker(blocker);
    return internal.park<T>(task, blocker);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Wakes a parked task with `value`; a no-op when the task is not parked. */
export function wake(task: Task, value?: unknown): void {
  checkTask("wake(task)", task);
  internal.wake(task, value);
}

/** Wakes a parked task so that its wait rejects with `error`; a no-op when it is not parked. */
export function wakeWithError(task: Task, error: unknown): void {
  checkTask("wakeWithError(task)", task);
  internal.wakeWithError(task, error);
}

/**
 * Call before registering a waiter: a rejected promise when `task` cannot start a wait now
 * (`CancelledError` in a cancelled scope, `GiambioError` when it is already parked), else null.
 */
export function refuseWait(task: Task): Promise<never> | null {
  try {
    checkTask("refuseWait(task)", task);
  } catch (error) {
    return Promise.reject(error);
  }
  return internal.refuseWait(task);
}

/** A rejected `CancelledError` if `task` is in a cancelled scope, else null: a cancellation point. */
export function checkCancelled(task: Task): Promise<never> | null {
  try {
    checkTask("checkCancelled(task)", task);
  } catch (error) {
    return Promise.reject(error);
  }
  return internal.checkCancelled(task);
}
