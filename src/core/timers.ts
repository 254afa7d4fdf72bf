/**
 * One binary min-heap holds every sleep and every deadline of a scheduler; the scheduler
 * arms a single Bun timer for the earliest entry instead of one `setTimeout` per sleep.
 *
 * Entries carry their own heap index so removal (a sleep cut short by cancellation, a
 * deadline whose scope exited early) is O(log n) and leaves nothing behind: a loop that
 * enters and leaves `withTimeout` a million times keeps the heap empty.
 */

export interface TimerEntry {
  /** When the entry is due, on the scheduler's clock (ms). */
  deadline: number;
  /** Tie-breaker: entries due at the same instant fire in insertion order. @internal */
  timerSeq: number;
  /** Position in the heap, -1 when not in it. @internal */
  heapIndex: number;
  /** Called once when the deadline passes (after removal from the heap). */
  fire(): void;
}

export class TimerHeap {
  #heap: TimerEntry[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** The earliest entry, if any. */
  peek(): TimerEntry | undefined {
    return this.#heap[0];
  }

  push(entry: TimerEntry): void {
    entry.timerSeq = this.#seq++;
    entry.heapIndex = this.#heap.length;
    this.#heap.push(entry);
    this.#siftUp(entry.heapIndex);
  }

  /** Removes `entry` if it is in the heap; a no-op otherwise. */
  remove(entry: TimerEntry): void {
    const index = entry.heapIndex;
    if (index < 0 || this.#heap[index] !== entry) return;
    entry.heapIndex = -1;
    const last = this.#heap.pop() as TimerEntry;
    if (index === this.#heap.length) return;
    this.#heap[index] = last;
    last.heapIndex = index;
    this.#siftDown(index);
    this.#siftUp(last.heapIndex);
  }

  /** Removes and returns the earliest entry if it is due at `now`. */
  popDue(now: number): TimerEntry | undefined {
    const top = this.#heap[0];
    if (top === undefined || top.deadline > now) return undefined;
    this.remove(top);
    return top;
  }

  #less(a: TimerEntry, b: TimerEntry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.timerSeq < b.timerSeq);
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const entry = heap[index] as TimerEntry;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as TimerEntry;
      if (!this.#less(entry, parent)) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const entry = heap[index] as TimerEntry;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length && this.#less(heap[right] as TimerEntry, heap[child] as TimerEntry)) {
        child = right;
      }
      const smallest = heap[child] as TimerEntry;
      if (!this.#less(smallest, entry)) break;
      heap[index] = smallest;
      smallest.heapIndex = index;
      index = child;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }
}
