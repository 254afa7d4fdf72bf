/**
 * The FIFO of tasks parked on one synchronization primitive (the waiters of an `Event`, the
 * tasks queued for a `Lock`, the senders and the receivers of a channel).
 *
 * It is a doubly linked list whose nodes are the `Blocker`s the tasks park on: a cancelled
 * waiter unlinks itself in O(1) from `abortWait`, and waking the first waiter is O(1). A
 * `Map<Task, value>` was measured as the alternative: it costs about the same at depth 1,
 * but taking the first entry after deletions degrades (2–10× slower with many waiters).
 *
 * A waker takes the node off the queue (`shift`, `removeWhere`) *before* it calls `wake`, so
 * a node is in the queue exactly while its task is parked on it and can still be cancelled.
 */
import { type Blocker, park } from "../core/park.ts";
import type { Task } from "../core/task.ts";

/** One parked task, with what it brought (the item of a blocked sender). */
export class Waiter<V> implements Blocker {
  readonly external = false;
  readonly cancellable = true;
  /** @internal */ prev: Waiter<V> | null = null;
  /** @internal */ next: Waiter<V> | null = null;
  /** @internal True while linked into `queue`. */ queued = true;

  constructor(
    readonly queue: WaitQueue<V>,
    readonly task: Task,
    /** What the waiter brought: the item of a sender, `undefined` for the others. */
    readonly value: V,
    /** The object the task waits through (a channel end), so that closing it fails only its own waiters. */
    readonly origin: unknown,
  ) {}

  /** The task is being cancelled: leave the queue, so nothing is ever handed to it. */
  abortWait(): void {
    this.queue.remove(this);
  }

  describeWait(): string {
    return this.queue.describeWait();
  }
}

export class WaitQueue<V = undefined> {
  #head: Waiter<V> | null = null;
  #tail: Waiter<V> | null = null;
  #size = 0;

  /** @param describeWait What a waiter waits on, for deadlock reports ("Lock.acquire()"). */
  constructor(readonly describeWait: () => string) {}

  /** How many tasks are parked here. */
  get size(): number {
    return this.#size;
  }

  /**
   * Queues `task` (the calling task) last and parks it. The promise settles with what the
   * waker passes to `wake`/`wakeWithError`, or rejects with `CancelledError` (the task has
   * then left the queue).
   */
  park<R>(task: Task, value: V, origin: unknown = null): Promise<R> {
    const waiter = new Waiter(this, task, value, origin);
    const tail = this.#tail;
    waiter.prev = tail;
    if (tail === null) this.#head = waiter;
    else tail.next = waiter;
    this.#tail = waiter;
    this.#size++;
    return park<R>(task, waiter);
  }

  /** Takes the first waiter off the queue (the caller wakes it), or null when empty. */
  shift(): Waiter<V> | null {
    const first = this.#head;
    if (first !== null) this.remove(first);
    return first;
  }

  /** Takes every waiter that matches `predicate` off the queue, in FIFO order. */
  removeWhere(predicate: (waiter: Waiter<V>) => boolean): Waiter<V>[] {
    const removed: Waiter<V>[] = [];
    for (let waiter = this.#head; waiter !== null; ) {
      const next = waiter.next;
      if (predicate(waiter)) {
        this.remove(waiter);
        removed.push(waiter);
      }
      waiter = next;
    }
    return removed;
  }

  /** Unlinks `waiter`; a no-op when it has already left. */
  remove(waiter: Waiter<V>): void {
    if (!waiter.queued) return;
    waiter.queued = false;
    const { prev, next } = waiter;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next === null) this.#tail = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = null;
    this.#size--;
  }
}
