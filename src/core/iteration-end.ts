/**
 * Work deferred to the end of the loop's current iteration: after every ready task has run
 * its step, before the loop starts the next iteration, yields or goes idle. The socket layer
 * uses it to coalesce the writes a connection makes within one iteration into one `write`
 * call (one syscall instead of several) without adding latency: nothing waits longer than
 * the iteration that produced it.
 */
import type { Task, TaskInternal } from "./task.ts";

/** The key of `AtIterationEnd`'s method: a symbol, so that it is no public member of a stream. */
export const AT_ITERATION_END: unique symbol = Symbol("atIterationEnd");

export interface AtIterationEnd {
  /** Called once, at the end of the iteration during which it was registered. Must not throw. */
  [AT_ITERATION_END](): void;
}

/**
 * Registers `callback` for the end of the iteration in progress of `task`'s scheduler.
 * Returns false, registering nothing, when no iteration is in progress (code running outside
 * the loop's steps): the caller should then do the work at once.
 */
export function deferToIterationEnd(task: Task, callback: AtIterationEnd): boolean {
  return (task as TaskInternal).scheduler.deferToIterationEnd(callback);
}

/** The number of the loop's iteration in progress (they only grow), or -1 when none is. */
export function currentIteration(task: Task): number {
  return (task as TaskInternal).scheduler.iteration;
}
