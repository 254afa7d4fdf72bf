/**
 * The timer queue on its own: millisecond buckets, FIFO within one, O(1) removal that leaves
 * nothing behind.
 */
import { describe, expect, test } from "bun:test";
import { type TimerEntry, TimerHeap } from "../../src/core/timers.ts";

class Entry implements TimerEntry {
  timerBucket: object | null = null;
  timerSlot = 0;
  constructor(
    readonly name: string,
    readonly deadline: number,
  ) {}
  fire(): void {}
}

function drain(heap: TimerHeap, now: number): string[] {
  const names: string[] = [];
  for (let entry = heap.popDue(now); entry; entry = heap.popDue(now)) {
    names.push((entry as Entry).name);
  }
  return names;
}

describe("TimerHeap", () => {
  test("pops in deadline order, rounded up to the ms, FIFO within a ms", () => {
    const heap = new TimerHeap();
    for (const [name, deadline] of [
      ["c", 3],
      ["a", 1],
      ["b1", 1.7],
      ["b2", 1.2],
      ["d", 10],
    ] as const) {
      heap.push(new Entry(name, deadline));
    }
    expect(heap.size).toBe(5);
    expect(heap.nextDue()).toBe(1);
    expect(drain(heap, 1)).toEqual(["a"]);
    expect(heap.nextDue()).toBe(2);
    expect(drain(heap, 1.9)).toEqual([]);
    expect(drain(heap, 5)).toEqual(["b1", "b2", "c"]);
    expect(drain(heap, 100)).toEqual(["d"]);
    expect(heap.size).toBe(0);
    expect(heap.nextDue()).toBe(Number.POSITIVE_INFINITY);
  });

  test("removal is immediate, idempotent, and re-adding an entry works", () => {
    const heap = new TimerHeap();
    const a = new Entry("a", 5);
    const b = new Entry("b", 5);
    heap.push(a);
    heap.push(b);
    heap.remove(a);
    heap.remove(a);
    expect(heap.size).toBe(1);
    heap.push(a);
    heap.push(a);
    expect(heap.size).toBe(2);
    expect(drain(heap, 5)).toEqual(["b", "a"]);
    heap.remove(b);
    expect(heap.size).toBe(0);
  });

  test("a million entries added and removed leave nothing behind", () => {
    const heap = new TimerHeap();
    for (let i = 0; i < 1_000_000; i++) {
      const entry = new Entry("x", 30_000 + i / 1000);
      heap.push(entry);
      heap.remove(entry);
    }
    expect(heap.size).toBe(0);
    // Removal drops each entry's slot at once (a leaked slot would show here)...
    expect(heap.stats().slots).toBe(0);
    // ...and the emptied buckets of 1,001 distinct ms go once they reach the top.
    expect(heap.stats().buckets).toBe(1001);
    expect(heap.nextDue()).toBe(Number.POSITIVE_INFINITY);
    expect(heap.stats()).toEqual({ entries: 0, buckets: 0, slots: 0 });
  });

  test("buckets popped empty or emptied by removal are dropped, not kept", () => {
    const heap = new TimerHeap();
    const entries = Array.from({ length: 200 }, (_, i) => new Entry(`e${i}`, i + 1));
    for (const entry of entries) heap.push(entry);
    expect(heap.stats()).toEqual({ entries: 200, buckets: 200, slots: 200 });
    // Remove every other one; pop the rest as time passes.
    entries.forEach((entry, i) => {
      if (i % 2 === 0) heap.remove(entry);
    });
    expect(heap.stats().slots).toBe(100);
    expect(drain(heap, 100)).toHaveLength(50);
    // Every bucket at or before 100 ms is gone, popped or emptied, and so is the emptied one
    // at 101 that reached the top: no empty bucket sits ahead of the first live one.
    expect(heap.stats()).toEqual({ entries: 50, buckets: 99, slots: 50 });
    drain(heap, 1000);
    expect(heap.stats()).toEqual({ entries: 0, buckets: 0, slots: 0 });
    // A bucket reused after being emptied holds only its new entry.
    const again = new Entry("again", 500);
    heap.push(again);
    heap.remove(again);
    heap.push(again);
    expect(heap.stats()).toEqual({ entries: 1, buckets: 1, slots: 1 });
  });

  test("agrees with a sorted reference on random work", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const heap = new TimerHeap();
    const live = new Map<Entry, number>();
    let order = 0;
    let now = 0;
    const fired: string[] = [];
    const expected: string[] = [];
    for (let step = 0; step < 20_000; step++) {
      const roll = random();
      if (roll < 0.5) {
        const entry = new Entry(`e${step}`, now + random() * 50);
        heap.push(entry);
        live.set(entry, order++);
      } else if (roll < 0.7 && live.size > 0) {
        const victim = [...live.keys()][Math.floor(random() * live.size)] as Entry;
        heap.remove(victim);
        live.delete(victim);
      } else {
        now += random() * 5;
        const due = [...live.entries()]
          .filter(([entry]) => Math.ceil(entry.deadline) <= now)
          .sort(([a, ao], [b, bo]) => Math.ceil(a.deadline) - Math.ceil(b.deadline) || ao - bo);
        for (const [entry] of due) {
          expected.push(entry.name);
          live.delete(entry);
        }
        fired.push(...drain(heap, now));
      }
      expect(heap.size).toBe(live.size);
    }
    expect(fired).toEqual(expected);
    // Whatever the mix, draining everything leaves no bucket and no slot behind.
    drain(heap, now + 1000);
    expect(heap.stats()).toEqual({ entries: 0, buckets: 0, slots: 0 });
  });
});
