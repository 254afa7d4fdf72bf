/**
 * The one way to block. Every blocking operation — sleeps, `Event.wait`, `Lock.acquire`,
 * channel receives, socket reads and writes, `accept` — parks the current task on a
 * `Blocker` and lets someone wake it later:
 *
 * ```ts
 * waiters.push(task);              // 1. register where a waker will find the task
 * return park(task, this);         // 2. park it; the promise settles when it is woken
 * // elsewhere: remove the task from `waiters`, then wake(task, value)
 * ```
 *
 * Cancellation has exactly one path: when the task's scope is cancelled (already at the time
 * of `park`, or later while it waits), the loop calls `blocker.abortWait(task)` — which must
 * undo step 1 — and rejects the promise with `CancelledError`. A fix to cancellation is made
 * here, once, never patched into each primitive.
 */
import type { Task, TaskInternal } from "./task.ts";

export interface Blocker {
  /**
   * True when something outside the loop (socket I/O, a foreign promise) will wake the task.
   * Deadlock detection needs it: tasks parked only on internal blockers (events, locks,
   * channels) can be woken only by other tasks.
   */
  readonly external: boolean;
  /** False for waits that must not be interrupted (a pool waiting for its children). */
  readonly cancellable: boolean;
  /** Undo the registration of `task`: it is being cancelled and will not take a wake-up. */
  abortWait(task: Task): void;
  /** What `task` waits on, for deadlock reports ("Event.wait()", "sleepForever()"). */
  describeWait(task: Task): string;
}

/**
 * Parks `task` (which must be the calling task) on `blocker`. Resolves with the value given
 * to `wake`, rejects with the error given to `wakeWithError`, or with `CancelledError`.
 */
export function park<T>(task: Task, blocker: Blocker): Promise<T> {
  const internal = task as TaskInternal;
  return internal.scheduler.park<T>(internal, blocker);
}

/**
 * @internal `park()` right after `refuseWait(task)` returned null, with nothing in between
 * that could park or cancel the task (the hot paths: a `receive` or `accept` that must wait).
 */
export function parkChecked<T>(task: Task, blocker: Blocker): Promise<T> {
  const internal = task as TaskInternal;
  return internal.scheduler.parkChecked<T>(internal, blocker);
}

/** Wakes a parked task with `value`; a no-op when the task is not parked. */
export function wake(task: Task, value?: unknown): void {
  const internal = task as TaskInternal;
  internal.scheduler.wake(internal, value);
}

/** Wakes a parked task so that its wait rejects with `error`. */
export function wakeWithError(task: Task, error: unknown): void {
  const internal = task as TaskInternal;
  internal.scheduler.wakeWithError(internal, error);
}

/**
 * Call before registering a waiter: a rejected promise when `task` cannot start a wait now —
 * `CancelledError` in a cancelled scope, `GiambioError` when it is already parked (a wait it
 * did not await, or `Promise.all` over several waits) — else null. Registering first and
 * letting `park` refuse also works, except that a second registration of an already parked
 * task in the *same* structure cannot be told apart from the first; this check avoids it.
 */
export function refuseWait(task: Task): Promise<never> | null {
  const internal = task as TaskInternal;
  return internal.scheduler.refuseWait(internal);
}

/** `CancelledError` (rejected) if `task` is in a cancelled scope, else null: a cancellation point. */
export function checkCancelled(task: Task): Promise<never> | null {
  const internal = task as TaskInternal;
  return internal.scheduler.checkCancelled(internal);
}
