/**
 * `Lock`: mutual exclusion between tasks, owned by the task that acquired it (trio's `Lock`).
 */
import { checkFunction } from "../arguments.ts";
import { currentTask } from "../core/context.ts";
import { checkCancelled, wake } from "../core/park.ts";
import type { Task } from "../core/task.ts";
import { GiambioError } from "../errors.ts";
import { WaitQueue } from "./wait-queue.ts";

export interface LockStatistics {
  /** Some task holds the lock. */
  locked: boolean;
  /** The task that holds it, or null. */
  owner: Task | null;
  /** Tasks parked in `acquire()`. */
  tasksWaiting: number;
}

const acquired: Promise<void> = Promise.resolve();

/**
 * A lock held by one task at a time. It is fair: `release()` hands the lock straight to the
 * task that has waited longest, so a task that releases and re-acquires in a loop cannot
 * starve the others. A waiter cancelled before the hand-off leaves the queue and never owns
 * the lock.
 *
 * ```ts
 * const lock = new Lock();
 * await lock.withLock(async () => { ... }); // released even if the body throws or is cancelled
 * ```
 */
export class Lock {
  #owner: Task | null = null;
  readonly #waiters = new WaitQueue(() => `Lock.acquire() (held by ${ownerName(this.#owner)})`);

  /** Some task holds the lock. */
  get locked(): boolean {
    return this.#owner !== null;
  }

  /**
   * Acquires the lock for the calling task, waiting (FIFO) while another task holds it.
   * A cancellation point: in a cancelled scope it rejects with `CancelledError` even when the
   * lock is free (then it does not yield, it only checks). Acquiring a lock the calling task
   * already holds → `GiambioError` (it would wait forever).
   */
  acquire(): Promise<void> {
    try {
      const task = currentTask();
      const owner = this.#owner;
      if (owner === null) {
        const cancelled = checkCancelled(task);
        if (cancelled !== null) return cancelled;
        this.#owner = task;
        return acquired;
      }
      if (owner === task) {
        throw new GiambioError(
          `Lock.acquire(): task '${task.name}' already holds this lock (owner: task '${owner.name}'); a Lock is not re-entrant`,
        );
      }
      return this.#waiters.park(task, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Releases the lock; the first waiting task, if any, owns it from now on and is woken. Only
   * the task that holds the lock may release it: otherwise `GiambioError` naming both tasks.
   */
  release(): void {
    const task = currentTask();
    const owner = this.#owner;
    if (owner !== task) {
      throw new GiambioError(
        `Lock.release(): task '${task.name}' does not hold this lock (owner: ${ownerName(owner)})`,
      );
    }
    const next = this.#waiters.shift();
    this.#owner = next === null ? null : next.task;
    if (next !== null) wake(next.task);
  }

  /**
   * Runs `fn()` holding the lock and resolves with its value. The lock is released when `fn`
   * settles, whether it returns, throws or is cancelled.
   */
  async withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    checkFunction("Lock.withLock(fn)", fn);
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** A snapshot for debugging and tests (trio's `Lock.statistics()`). */
  statistics(): LockStatistics {
    return { locked: this.#owner !== null, owner: this.#owner, tasksWaiting: this.#waiters.size };
  }
}

function ownerName(owner: Task | null): string {
  if (owner === null) return "nobody";
  // A task that ended without releasing keeps the lock: say so, it is the bug to look for.
  return owner.done ? `task '${owner.name}', which has ended` : `task '${owner.name}'`;
}
