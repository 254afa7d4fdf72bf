/**
 * The deadlock report: a pure function of the task tree. When every task is parked on
 * something only another task could release, the loop cancels the tree with this error, so
 * the user reads which task waits on what (trio and Effection have no such report).
 */
import { GiambioError } from "../errors.ts";
import type { TaskInternal } from "./task.ts";

/** The error `run` rejects with: every task of `root`'s tree that is parked, and on what. */
export function deadlockError(root: TaskInternal): GiambioError {
  const waits: string[] = [];
  root.walk((scope) => {
    const task = scope.owner;
    if (task.scope === scope && task.blocker !== null) {
      waits.push(`'${task.name}' waits on ${task.blocker.describeWait(task)}`);
    }
  });
  return new GiambioError(
    `deadlock: every task is blocked and nothing can wake them (no timer, no I/O, no until() in flight): ${waits.join("; ")}`,
  );
}
