/**
 * Deadlines and shields: `withTimeout` and `skipAfter` are pools with a deadline (trio's
 * `fail_after` and `move_on_after`), `shield` is a scope outer cancellation cannot reach.
 */
import { checkDuration, checkFunction } from "../arguments.ts";
import { type CancelScope, NestedScope } from "./cancel-scope.ts";
import { currentTaskInternal } from "./context.ts";
import { type Pool, runPool } from "./pool.ts";

/**
 * Runs `body(pool)` with a deadline `ms` from now. At the deadline everything in the pool is
 * cancelled and the call rejects with `TooSlowError`. A deadline that did not fire is removed
 * when the body and its children finish.
 */
export function withTimeout<T>(ms: number, body: (pool: Pool) => T | PromiseLike<T>): Promise<T> {
  try {
    checkDuration("withTimeout(ms)", ms);
    checkFunction("withTimeout(ms, body)", body);
    return runPool(body, ms, "throw") as Promise<T>;
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Like `withTimeout`, but on timeout resolves `undefined` instead of rejecting (trio's
 * `move_on_after`); `pool.timedOut` tells whether the deadline fired.
 */
export function skipAfter<T>(
  ms: number,
  body: (pool: Pool) => T | PromiseLike<T>,
): Promise<T | undefined> {
  try {
    checkDuration("skipAfter(ms)", ms);
    checkFunction("skipAfter(ms, body)", body);
    return runPool(body, ms, "skip");
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs `body()` immune to cancellation from outside (cleanup that must finish). Deadlines
 * and cancellations opened inside the shield still work. When it returns, a cancellation
 * that arrived meanwhile is raised at the caller's next checkpoint.
 */
export async function shield<T>(body: () => T | PromiseLike<T>): Promise<T> {
  checkFunction("shield(body)", body);
  const task = currentTaskInternal();
  const scope = new NestedScope(task.scope, task, true);
  task.scope = scope;
  try {
    return await body();
  } finally {
    task.scope = scope.parent as CancelScope;
    scope.detach();
  }
}
