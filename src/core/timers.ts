/**
 * Every sleep and every deadline of a scheduler, in one structure; the scheduler arms a
 * single Bun timer for the earliest instead of one `setTimeout` per sleep.
 *
 * Timers have millisecond resolution, like `setTimeout`: an entry is due at its deadline
 * rounded up to the next whole millisecond, and entries due in the same millisecond fire in
 * the order they were added. That makes the structure a bucket queue: one FIFO bucket per
 * pending millisecond, and a small binary heap of those milliseconds. Adding, removing and
 * popping an entry are O(1) (plus O(log m) per *bucket*, m being the number of distinct
 * milliseconds pending), which keeps 100,000 concurrent sleeps as cheap as a few.
 *
 * Removal (a sleep cut short by cancellation, a deadline whose scope exited early) clears
 * the entry's slot; a bucket whose entries are all gone is emptied at once, so a loop that
 * enters and leaves `withTimeout` a million times leaves nothing behind.
 */

/**
 * Waits at least this long (2**52 ms, about 143,000 years) never end: `sleep`, `sleepUntil` and
 * pool deadlines treat them like `Infinity` instead of arming a timer. `Number.MAX_SAFE_INTEGER`
 * is a common way to write "no timeout", and a double this large cannot count milliseconds.
 */
export const NEVER_MS = 2 ** 52;

/**
 * The longest delay given to Bun's `setTimeout` (2**31 − 1 ms, about 24.8 days): Bun turns
 * a longer one into 1 ms and warns. A farther deadline is reached in several such waits.
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

export interface TimerEntry {
  /** When the entry is due, on the scheduler's clock (ms). */
  readonly deadline: number;
  /** @internal The bucket holding the entry, null when it is not in the queue. */
  timerBucket: object | null;
  /** @internal The entry's index in its bucket. */
  timerSlot: number;
  /** Called once when the deadline passes (after removal from the queue). */
  fire(): void;
}

class Bucket {
  readonly entries: (TimerEntry | null)[] = [];
  /** Entries of `entries` not yet removed or popped. */
  live = 0;
  /** Everything before this index has been popped or removed. */
  cursor = 0;

  constructor(readonly due: number) {}
}

export class TimerHeap {
  readonly #buckets = new Map<number, Bucket>();
  /** Min-heap of the `due` of every bucket in `#buckets`. */
  readonly #dues: number[] = [];
  #size = 0;

  /** Entries in the queue. */
  get size(): number {
    return this.#size;
  }

  /**
   * What the queue holds, for tests that must see a leak `size` and `nextDue()` hide: `buckets`
   * counts every bucket still in the map (an emptied one stays until its millisecond reaches
   * the top), `slots` the entry slots they keep (removed entries' slots included). O(buckets).
   */
  stats(): { entries: number; buckets: number; slots: number } {
    let slots = 0;
    for (const bucket of this.#buckets.values()) slots += bucket.entries.length;
    return { entries: this.#size, buckets: this.#buckets.size, slots };
  }

  /** When the earliest entry is due (its deadline rounded up to the ms), or Infinity. */
  nextDue(): number {
    const bucket = this.#firstBucket();
    return bucket === undefined ? Number.POSITIVE_INFINITY : bucket.due;
  }

  push(entry: TimerEntry): void {
    if (entry.timerBucket !== null) this.remove(entry);
    const due = Math.ceil(entry.deadline);
    let bucket = this.#buckets.get(due);
    if (bucket === undefined) {
      bucket = new Bucket(due);
      this.#buckets.set(due, bucket);
      this.#pushDue(due);
    }
    entry.timerBucket = bucket;
    entry.timerSlot = bucket.entries.length;
    bucket.entries.push(entry);
    bucket.live++;
    this.#size++;
  }

  /** Removes `entry` if it is in the queue; a no-op otherwise. */
  remove(entry: TimerEntry): void {
    const bucket = entry.timerBucket as Bucket | null;
    if (bucket === null) return;
    entry.timerBucket = null;
    bucket.entries[entry.timerSlot] = null;
    this.#size--;
    if (--bucket.live === 0) {
      // Nothing left to fire here: drop the slots now; the bucket itself goes when its
      // millisecond reaches the top of the heap (or is reused if an entry comes back).
      bucket.entries.length = 0;
      bucket.cursor = 0;
    }
  }

  /** Removes and returns the earliest entry if it is due at `now`. */
  popDue(now: number): TimerEntry | undefined {
    const bucket = this.#firstBucket();
    if (bucket === undefined || bucket.due > now) return undefined;
    const entries = bucket.entries;
    for (;;) {
      // `live > 0` guarantees a live entry at or after the cursor.
      const entry = entries[bucket.cursor++] as TimerEntry | null;
      if (entry === null) continue;
      entry.timerBucket = null;
      bucket.live--;
      this.#size--;
      if (bucket.live === 0) {
        entries.length = 0;
        bucket.cursor = 0;
      }
      return entry;
    }
  }

  /** The earliest bucket with entries left; empty buckets at the top are dropped. */
  #firstBucket(): Bucket | undefined {
    const dues = this.#dues;
    while (dues.length > 0) {
      const bucket = this.#buckets.get(dues[0] as number) as Bucket;
      if (bucket.live > 0) return bucket;
      this.#buckets.delete(bucket.due);
      this.#popDue();
    }
    return undefined;
  }

  #pushDue(due: number): void {
    const dues = this.#dues;
    let index = dues.length;
    dues.push(due);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentDue = dues[parent] as number;
      if (parentDue <= due) break;
      dues[index] = parentDue;
      index = parent;
    }
    dues[index] = due;
  }

  #popDue(): void {
    const dues = this.#dues;
    const last = dues.pop() as number;
    const length = dues.length;
    if (length === 0) return;
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && (dues[child + 1] as number) < (dues[child] as number)) child++;
      const childDue = dues[child] as number;
      if (last <= childDue) break;
      dues[index] = childDue;
      index = child;
    }
    dues[index] = last;
  }
}
