/**
 * `Event<T>`: a one-shot flag that carries a value (giambio's `Event`, trio's `Event` plus
 * a payload).
 */
import { currentTask } from "../core/context.ts";
import { checkCancelled, wake } from "../core/park.ts";
import { describe, GiambioError } from "../errors.ts";
import { WaitQueue } from "./wait-queue.ts";

export interface EventStatistics {
  /** Tasks parked in `wait()`. */
  tasksWaiting: number;
}

// Shared, so that creating a primitive allocates no closure for its deadlock report.
const describeEventWait = () => "Event.wait()";

/**
 * An event is set once, with a value; every task waiting for it then wakes with that value,
 * and later waits return it at once.
 *
 * ```ts
 * const ready = new Event<number>();
 * pool.spawn(async () => console.log(await ready.wait())); // 42
 * ready.set(42);
 * ```
 */
export class Event<T = void> {
  #isSet = false;
  #value: T | undefined = undefined;
  readonly #waiters = new WaitQueue(describeEventWait);

  /** `set()` has been called. */
  get isSet(): boolean {
    return this.#isSet;
  }

  /** The value given to `set()`; `undefined` until then. */
  get value(): T | undefined {
    return this.#value;
  }

  /**
   * Sets the event with `value` and wakes every waiting task, in the order they started
   * waiting. Does not yield: the woken tasks run when the caller next suspends. An event is
   * set once: a second `set()` throws `GiambioError` naming the value it already holds.
   * Callable outside a task too, but the loop cannot see such a caller coming: if every task
   * waits on things only outside code will set, that is reported as a deadlock; await the
   * outside world with `until()` instead.
   */
  set(value: T): void {
    if (this.#isSet) {
      throw new GiambioError(
        `Event.set(${describe(value)}): the event is already set (with value ${describe(this.#value)}); an Event is set once`,
      );
    }
    this.#isSet = true;
    this.#value = value;
    for (let waiter = this.#waiters.shift(); waiter !== null; waiter = this.#waiters.shift()) {
      wake(waiter.task, value);
    }
  }

  /**
   * Waits until the event is set and resolves with its value. A cancellation point: in a
   * cancelled scope it rejects with `CancelledError` even when the event is already set
   * (then it does not yield, it only checks). A cancelled waiter leaves the queue.
   */
  wait(): Promise<T> {
    try {
      const task = currentTask();
      if (this.#isSet) return checkCancelled(task) ?? Promise.resolve(this.#value as T);
      return this.#waiters.park<T>(task, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A snapshot for debugging and tests (trio's `Event.statistics()`). */
  statistics(): EventStatistics {
    return { tasksWaiting: this.#waiters.size };
  }
}
