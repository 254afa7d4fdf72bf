/**
 * `Semaphore`: a counter of permits that tasks take and give back (trio's `Semaphore`).
 */
import { checkFunction, checkInteger } from "../arguments.ts";
import { currentTask } from "../core/context.ts";
import { checkCancelled, wake } from "../core/park.ts";
import { GiambioError } from "../errors.ts";
import { WaitQueue } from "./wait-queue.ts";

export interface SemaphoreStatistics {
  /** Tasks parked in `acquire()`. */
  tasksWaiting: number;
}

const acquired: Promise<void> = Promise.resolve();

// Shared, so that creating a primitive allocates no closure for its deadlock report.
const describeSemaphoreWait = () => "Semaphore.acquire()";

/**
 * Limits how many tasks do something at once. `acquire()` takes a permit, waiting (FIFO)
 * while there is none; `release()` gives one back, straight to the task that has waited
 * longest if there is one. A waiter cancelled before the hand-off leaves the queue, so no
 * permit is ever handed to a dead task. Permits are not owned: any task may release.
 *
 * ```ts
 * const slots = new Semaphore(3);
 * await slots.withPermit(() => fetchOne(url)); // at most 3 at once
 * ```
 */
export class Semaphore {
  #value: number;
  /** The most permits the semaphore may hold; `release()` beyond it is an error. */
  readonly maxValue: number;
  readonly #waiters = new WaitQueue(describeSemaphoreWait);

  /**
   * @param initialValue Permits available at first: an integer >= 0.
   * @param maxValue The most permits it may ever hold (default `initialValue`, which catches a
   *   `release()` without a matching `acquire()`); an integer >= `initialValue`, or `Infinity`.
   */
  constructor(initialValue: number, maxValue: number = initialValue) {
    this.#value = checkInteger("new Semaphore(initialValue)", initialValue, 0);
    this.maxValue = checkInteger("new Semaphore(initialValue, maxValue)", maxValue, 0, true);
    if (maxValue < initialValue) {
      throw new RangeError(
        `new Semaphore(initialValue, maxValue): maxValue must be >= initialValue (${initialValue}), got ${maxValue}`,
      );
    }
  }

  /** Permits available now. */
  get value(): number {
    return this.#value;
  }

  /**
   * Takes a permit, waiting while there is none. A cancellation point: in a cancelled scope it
   * rejects with `CancelledError` even when a permit is free (then it does not yield, it only
   * checks).
   */
  acquire(): Promise<void> {
    try {
      const task = currentTask();
      if (this.#value > 0) {
        const cancelled = checkCancelled(task);
        if (cancelled !== null) return cancelled;
        this.#value--;
        return acquired;
      }
      return this.#waiters.park(task, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Gives a permit back: to the first waiting task if any (it is woken holding it), else to
   * the pool of free permits. Releasing when `value` is already `maxValue` → `GiambioError`.
   * Does not yield; callable outside a task.
   */
  release(): void {
    if (this.#value === this.maxValue) {
      throw new GiambioError(
        `Semaphore.release(): the semaphore already holds its maximum of ${this.maxValue} permits (value ${this.#value}), so release() was called more often than acquire()`,
      );
    }
    const next = this.#waiters.shift();
    if (next === null) this.#value++;
    else wake(next.task);
  }

  /**
   * Runs `fn()` holding a permit and resolves with its value; the permit is given back when
   * `fn` settles, whether it returns, throws or is cancelled.
   */
  async withPermit<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    checkFunction("Semaphore.withPermit(fn)", fn);
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** A snapshot for debugging and tests. */
  statistics(): SemaphoreStatistics {
    return { tasksWaiting: this.#waiters.size };
  }
}
