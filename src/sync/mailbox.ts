/**
 * The shared core of `Queue` and the memory channels: a bounded FIFO buffer, the tasks
 * waiting to put an item in and the tasks waiting to take one out.
 *
 * Items are handed over directly, at wake time: a sender that finds a receiver waiting wakes
 * it *with* the item, and a receiver that finds a sender waiting takes that sender's item and
 * wakes it. A waiter cancelled before that moment has already left its queue (its
 * `abortWait`), so an item is never handed to a dead receiver and a cancelled sender's item
 * is never delivered. Once woken, a task gets its item even if it is cancelled right after.
 *
 * Invariants: receivers wait only while the buffer is empty and no sender waits; senders
 * wait only while the buffer is full. The items of waiting senders are younger than every
 * buffered item, so taking from the buffer first keeps FIFO order.
 */
import { wake } from "../core/park.ts";
import { WaitQueue } from "./wait-queue.ts";

/** What `take()` returns when there is no item to take. */
export const EMPTY: unique symbol = Symbol("EMPTY");

export class Mailbox<T> {
  /** Buffered items, oldest first. */
  readonly items: T[] = [];
  /** Senders parked because the buffer is full; each waiter carries its item. */
  readonly senders: WaitQueue<T>;
  /** Receivers parked because there is nothing to take; they are woken with the item. */
  readonly receivers: WaitQueue<undefined>;

  constructor(
    /** How many items the buffer holds: an integer >= 0 (0: rendezvous) or `Infinity`. */
    readonly capacity: number,
    describeSend: () => string,
    describeReceive: () => string,
  ) {
    this.senders = new WaitQueue(describeSend);
    this.receivers = new WaitQueue(describeReceive);
  }

  /**
   * Delivers `item` without waiting: to the first waiting receiver, else into the buffer.
   * Returns false (and changes nothing) when the buffer is full.
   */
  offer(item: T): boolean {
    const receiver = this.receivers.shift();
    if (receiver !== null) {
      wake(receiver.task, item);
      return true;
    }
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return true;
    }
    return false;
  }

  /**
   * Takes the next item without waiting: the oldest buffered one (the first waiting sender,
   * woken, moves its item into the freed place), else a waiting sender's item (rendezvous).
   * Returns `EMPTY` when there is none.
   */
  take(): T | typeof EMPTY {
    const sender = this.senders.shift();
    if (sender !== null) wake(sender.task);
    if (this.items.length === 0) return sender === null ? EMPTY : sender.value;
    const item = this.items.shift() as T;
    if (sender !== null) this.items.push(sender.value);
    return item;
  }
}
