/**
 * `Queue<T>`: a FIFO queue between tasks, bounded or not (giambio's `Queue`). It is a
 * memory channel that is never closed; use `openMemoryChannel` when consumers must learn
 * that producers are done.
 */
import { checkInteger } from "../arguments.ts";
import { currentTask } from "../core/context.ts";
import { checkCancelled } from "../core/park.ts";
import { EMPTY, Mailbox } from "./mailbox.ts";

export interface QueueStatistics {
  /** Items in the queue (`size`). */
  size: number;
  maxsize: number;
  /** Tasks parked in `put()` because the queue is full. */
  tasksWaitingPut: number;
  /** Tasks parked in `get()` because the queue is empty. */
  tasksWaitingGet: number;
}

const put: Promise<void> = Promise.resolve();

/**
 * Items come out in the order they went in; blocked `put()`s and `get()`s are served
 * first come, first served. An item goes from `put` to `get` directly when a getter is
 * waiting, so a getter cancelled while it waits never swallows an item, and a putter
 * cancelled while it waits never delivers its item.
 *
 * ```ts
 * const jobs = new Queue<string>(100);
 * pool.spawn(async () => { for await (const job of jobs) await handle(job); });
 * await jobs.put("first");
 * ```
 */
export class Queue<T> {
  /** The most items the queue holds before `put()` waits. */
  readonly maxsize: number;
  readonly #mailbox: Mailbox<T>;

  /**
   * @param maxsize An integer >= 1, or `Infinity` (the default) for a queue that never makes
   *   `put()` wait. 0 is refused rather than read as "unbounded" (Python's convention) or
   *   "rendezvous": say `Infinity`, or use `openMemoryChannel(0)` for a rendezvous.
   */
  constructor(maxsize: number = Number.POSITIVE_INFINITY) {
    this.maxsize = checkInteger("new Queue(maxsize)", maxsize, 1, true);
    this.#mailbox = new Mailbox<T>(
      maxsize,
      () => `Queue.put() (queue full, maxsize ${this.maxsize})`,
      () => "Queue.get() (queue empty)",
    );
  }

  /** Items in the queue now. */
  get size(): number {
    return this.#mailbox.items.length;
  }

  /**
   * Adds `item` at the end, waiting while the queue is full. A cancellation point: in a
   * cancelled scope it rejects with `CancelledError` and the item is not added, even when
   * there is room (then it does not yield, it only checks).
   */
  put(item: T): Promise<void> {
    try {
      const task = currentTask();
      const cancelled = checkCancelled(task);
      if (cancelled !== null) return cancelled;
      if (this.#mailbox.offer(item)) return put;
      return this.#mailbox.senders.park(task, item);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Takes the first item, waiting while the queue is empty. A cancellation point: in a
   * cancelled scope it rejects with `CancelledError` and takes nothing, even when an item is
   * there (then it does not yield, it only checks).
   */
  get(): Promise<T> {
    try {
      const task = currentTask();
      const cancelled = checkCancelled(task);
      if (cancelled !== null) return cancelled;
      const item = this.#mailbox.take();
      if (item !== EMPTY) return Promise.resolve(item);
      return this.#mailbox.receivers.park(task, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `for await (const item of queue)`: gets items forever; ends only by cancellation or `break`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, never, undefined> {
    while (true) yield await this.get();
  }

  /** A snapshot for debugging and tests. */
  statistics(): QueueStatistics {
    const mailbox = this.#mailbox;
    return {
      size: mailbox.items.length,
      maxsize: this.maxsize,
      tasksWaitingPut: mailbox.senders.size,
      tasksWaitingGet: mailbox.receivers.size,
    };
  }
}
