/**
 * Bridges to the rest of the JavaScript world: awaiting a foreign promise cancellably, and
 * an AbortSignal that follows the caller's cancel scope.
 */
import { hasMethod } from "../arguments.ts";
import { describe } from "../errors.ts";
import { currentTaskInternal } from "./context.ts";
import { type Blocker, park, wake, wakeWithError } from "./park.ts";
import type { TaskInternal } from "./task.ts";

/**
 * Awaits a promise giambio does not own (`fetch`, a file read) as a cancellation point: if
 * the caller's scope is cancelled first, the task unwinds now and the promise is left to
 * settle on its own (its rejection, if any, is handled). While it is in flight the loop
 * knows something outside can still wake the task.
 */
export function until<T>(promise: PromiseLike<T>): Promise<T> {
  try {
    const task = currentTaskInternal();
    if (!hasMethod(promise, "then")) {
      throw new TypeError(`until(promise) needs a promise or thenable, got ${describe(promise)}`);
    }
    const wait = new ForeignWait();
    const parked = park<T>(task, wait);
    const settle = (ok: boolean, outcome: unknown) => {
      if (task.blocker !== wait) return; // cancelled meanwhile: nobody waits for it any more
      if (ok) wake(task, outcome);
      else wakeWithError(task, outcome);
    };
    try {
      promise.then(
        (value) => settle(true, value),
        (error) => settle(false, error),
      );
    } catch (error) {
      settle(false, error);
    }
    return parked;
  } catch (error) {
    return Promise.reject(error);
  }
}

class ForeignWait implements Blocker {
  readonly external = true;
  readonly cancellable = true;
  abortWait(): void {}
  describeWait(): string {
    return "until(promise)";
  }
}

/**
 * An AbortSignal aborted when the caller's effective cancel scope is cancelled; pass it to
 * `fetch` and friends so they stop when the task is cancelled.
 */
export function currentSignal(): AbortSignal {
  const task: TaskInternal = currentTaskInternal();
  return task.scope.signal();
}
