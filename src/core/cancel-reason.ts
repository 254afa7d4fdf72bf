/**
 * Why a scope was cancelled (trio's `CancelReason`). `cancel()` records the reason on the
 * scope it was called on, the first one winning; a `CancelledError`'s message is built from
 * it when the cancellation reaches a task, instead of being reconstructed from flags.
 *
 * Scopes below a cancelled one record nothing: cancellation is inherited by looking up the
 * tree (`cancelledScope`), so a task cancelled because an enclosing scope was ("parent
 * scope") is told which scope that was and that scope's reason.
 */
import { CancelledError, summarize } from "../errors.ts";
import type { CancelScope } from "./cancel-scope.ts";
import type { TaskInternal } from "./task.ts";

export type CancelReason =
  /** `task.cancel()` or `pool.cancel()`. */
  | { readonly kind: "explicit" }
  /** The scope's deadline passed (`withTimeout`, `skipAfter`, `withPool({ timeout })`). */
  | { readonly kind: "deadline" }
  /** The pool's body or one of its children failed with `error`; the rest is cancelled. */
  | { readonly kind: "failure"; readonly error: unknown }
  /**
   * The whole tree is being stopped, and `run` rejects with `error`: SIGINT
   * (`KeyboardInterrupt`), SIGTERM when nothing drains or a second time (`Terminated`), or a
   * deadlock report.
   */
  | { readonly kind: "interrupt" | "shutdown" | "deadlock"; readonly error: Error }
  /** The scheduler's clock threw or returned a bad reading; `run` rejects with `error`. */
  | { readonly kind: "clock"; readonly error: Error };

/** The reasons that carry no data are shared, so cancelling allocates nothing for them. */
export const EXPLICIT: CancelReason = { kind: "explicit" };
export const DEADLINE: CancelReason = { kind: "deadline" };

/** The error a whole-tree stop makes `run` reject with, or null for a local cancellation. */
export function stopError(reason: CancelReason | null): Error | null {
  if (reason === null) return null;
  const { kind } = reason;
  return kind === "interrupt" || kind === "shutdown" || kind === "deadlock" || kind === "clock"
    ? reason.error
    : null;
}

/** The `CancelledError` a checkpoint of `task` raises because `scope` was cancelled. */
export function cancelledError(task: TaskInternal, scope: CancelScope): CancelledError {
  return new CancelledError(`task '${task.name}' was cancelled: ${why(task, scope)}`);
}

function why(task: TaskInternal, scope: CancelScope): string {
  const reason = scope.cancelReason as CancelReason;
  switch (reason.kind) {
    case "deadline":
      return "its deadline passed";
    case "failure":
      return `its pool is failing: ${summarize(reason.error)}`;
    case "interrupt":
    case "shutdown":
    case "deadlock":
      return reason.error.message;
    case "clock":
      return `the scheduler's clock failed (${summarize(reason.error)})`;
    case "explicit":
      if (scope === task) return "task.cancel() was called";
      if (scope.owner === scope)
        return `task '${scope.owner.name}', which it runs in, was cancelled`;
      return "its pool was cancelled (pool.cancel())";
  }
}
