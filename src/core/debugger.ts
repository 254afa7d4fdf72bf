/**
 * Instrumentation hooks (giambio's `BaseDebugger`). Subclass it, override what you need and
 * pass an instance as `new Scheduler({ debugger })`. With no debugger installed the loop
 * pays one null check per hook site.
 *
 * A *step* is one stretch of a task's code between two suspensions, as the loop drives it:
 * it begins when the loop resumes the task (or starts it) and ends when the task parks on a
 * giambio wait or its function settles. Steps never nest: a spawned child's first step runs
 * inside `spawn()`, so the spawner's step is closed before it and a new one opened after. If a task awaits a promise giambio does not know about
 * (without `until`), its step is closed when the loop moves on, and the code that runs when
 * that promise settles belongs to no step.
 */
import type { Task } from "./task.ts";

export class BaseDebugger {
  /** The loop starts, before the root task's first step. */
  onStart(): void {}
  /** The loop has finished, after the root task exited. */
  onExit(): void {}
  /** A task was created (the root by `run`, children by `spawn`). */
  onTaskSpawn(_task: Task): void {}
  /** A task was put on the ready queue (`delay` 0) or the timer heap (`delay` in ms). */
  onTaskSchedule(_task: Task, _delay: number): void {}
  /** A task's function has settled (finished, failed or cancelled). */
  onTaskExit(_task: Task): void {}
  /** The loop is about to run a step of `task`. */
  beforeTaskStep(_task: Task): void {}
  /** The step of `task` has ended: it parked or its function settled. */
  afterTaskStep(_task: Task): void {}
  /** `task` is going to sleep for `ms`. */
  beforeSleep(_task: Task, _ms: number): void {}
  /** `task` woke from a sleep after `ms` (measured on the scheduler's clock). */
  afterSleep(_task: Task, _ms: number): void {}
  /** The loop hands control to Bun's event loop for up to `timeout` ms (Infinity: no timer). */
  beforeIo(_timeout: number): void {}
  /** The loop got control back after waiting for timers or I/O. */
  afterIo(_timeout: number): void {}
  /** A cancellation is being delivered to `task`. */
  beforeCancel(_task: Task): void {}
  /** `task` has exited because of a cancellation. */
  afterCancel(_task: Task): void {}
  /** `task` exited with `error`. */
  onExceptionRaised(_task: Task, _error: unknown): void {}
}
