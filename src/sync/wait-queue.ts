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
 *
 * A task waits on one thing at a time, so it keeps one node (in its `rare` fields) and
 * reuses it for each wait instead of allocating one per park (the Event ping-pong bench:
 * ~15 ns of ~250 per round trip). The node is free again once it has left its queue: its
 * waker reads it synchronously, before the task can run and park again.
 */
import { type Blocker, park } from "../core/park.ts";
import type { Task, TaskInternal } from "../core/task.ts";

/** One parked task, with what it brought (the item of a blocked sender). */
export class Waiter<V> implements Blocker {
  readonly external = false;
  readonly cancellable = true;
  /** @internal */ prev: Waiter<V> | null = null;
  /** @internal */ next: Waiter<V> | null = null;
  /** @internal True while linked into `queue`. */ queued = true;

  constructor(
    /** The queue the node is in; null once it has left (it keeps no primitive alive). */
    public queue: WaitQueue<V> | null,
    readonly task: Task,
    /** What the waiter brought: the item of a sender, `undefined` for the others. */
    public value: V,
    /** The object the task waits through (a channel end), so that closing it fails only its own waiters. */
    public origin: unknown,
  ) {}

  /** The task is being cancelled: leave the queue, so nothing is ever handed to it. */
  abortWait(): void {
    this.queue?.remove(this);
  }

  describeWait(): string {
    return this.queue?.describeWait() ?? "nothing (its wait has ended)";
  }

  /** What the waiter brought, handed over: the node keeps no reference to it. */
  takeValue(): V {
    const value = this.value;
    this.value = undefined as V;
    return value;
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
    const waiter = this.#nodeFor(task as TaskInternal, value, origin);
    const tail = this.#tail;
    waiter.prev = tail;
    if (tail === null) this.#head = waiter;
    else tail.next = waiter;
    this.#tail = waiter;
    this.#size++;
    return park<R>(task, waiter);
  }

  /**
   * The task's own node, set up for this queue; a new one when it is still queued elsewhere
   * (a task that parks while already parked, which `park` then refuses).
   */
  #nodeFor(task: TaskInternal, value: V, origin: unknown): Waiter<V> {
    const rare = task.rareFields();
    const node = rare.waitNode as Waiter<V> | null;
    if (node === null || node.queued) {
      const fresh = new Waiter(this, task, value, origin);
      if (node === null) rare.waitNode = fresh;
      return fresh;
    }
    node.queue = this;
    node.value = value;
    node.origin = origin;
    node.queued = true;
    return node;
  }

  /**
   * Takes the first waiter off the queue (the caller wakes it, and takes what it brought
   * with `takeValue`), or null when empty.
   */
  shift(): Waiter<V> | null {
    const first = this.#head;
    if (first !== null) this.#unlink(first);
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

  /**
   * Unlinks `waiter` and drops what it brought (it is not handed over); a no-op when it has
   * already left.
   */
  remove(waiter: Waiter<V>): void {
    if (!waiter.queued) return;
    this.#unlink(waiter);
    waiter.value = undefined as V;
  }

  #unlink(waiter: Waiter<V>): void {
    waiter.queued = false;
    waiter.queue = null;
    waiter.origin = null;
    const { prev, next } = waiter;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next === null) this.#tail = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = null;
    this.#size--;
  }
}
