/**
 * giambio's synchronization scripts (tests/events.py, event_timeout.py, lock.py, queue.py,
 * memory_channel.py, task_ipc.py) with their intended outcomes (GIAMBIO-TESTS.md). One
 * second of the scripts is one `U` here; the assertions are about order, with loose bounds
 * on when things happened.
 */
import { describe, expect, test } from "bun:test";
import {
  checkpoint,
  EndOfChannel,
  Event,
  Lock,
  openMemoryChannel,
  type Pool,
  Queue,
  run,
  skipAfter,
  sleep,
  WouldBlock,
  withPool,
} from "../../src/index.ts";

const U = 25;

/** Labels in the order they happened, each with its time in units since the test began. */
class Log {
  readonly #start = performance.now();
  readonly entries: { label: string; units: number }[] = [];

  push(label: string): void {
    this.entries.push({ label, units: (performance.now() - this.#start) / U });
  }

  get labels(): string[] {
    return this.entries.map((entry) => entry.label);
  }

  /** Asserts that `label` happened about `units` in: never early, not absurdly late. */
  expectAt(label: string, units: number): void {
    const entry = this.entries.find((e) => e.label === label);
    expect(entry).toBeDefined();
    expect(entry?.units).toBeGreaterThanOrEqual(units - 0.05);
    expect(entry?.units).toBeLessThan(units + 0.9);
  }
}

describe("giambio synchronization scripts", () => {
  test("events.py: the waiter gets the value at 3 and runs before the setter goes on", async () => {
    const log = new Log();
    async function child(event: Event<boolean>, pause: number) {
      log.push("child waiting");
      log.push(`child got ${await event.wait()}`);
      await sleep(pause * U);
      log.push("child done");
    }
    await run(async (pause: number) => {
      const event = new Event<boolean>();
      await withPool(async (pool) => {
        const task = pool.spawn(child, event, pause + 2);
        await sleep(pause * U);
        event.set(true);
        await checkpoint(); // giambio's `await event.set()` yields; ours does not
        log.push("parent set the event, awaiting child");
        await task.join();
        log.push("parent saw the child exit");
      });
    }, 3);
    expect(log.labels).toEqual([
      "child waiting",
      "child got true",
      "parent set the event, awaiting child",
      "child done",
      "parent saw the child exit",
    ]);
    log.expectAt("child got true", 3);
    log.expectAt("child done", 8);
  }, 5000);

  test("event_timeout.py: skipAfter(5) cancels the child at 5 and the parent goes on", async () => {
    const log = new Log();
    async function child(event: Event<boolean>, pause: number) {
      try {
        log.push(`child got ${await event.wait()}`);
        await sleep(pause * U);
        log.push("child done");
      } catch (error) {
        log.push("child cancelled");
        throw error;
      }
    }
    await run(async (pause: number) => {
      let pool: Pool | undefined;
      await skipAfter(5 * U, async (p) => {
        pool = p;
        const event = new Event<boolean>();
        p.spawn(child, event, pause + 2);
        await sleep(pause * U);
        event.set(true);
        log.push("parent set the event");
      });
      if (pool?.timedOut) log.push("parent: timeout has expired");
    }, 2);
    expect(log.labels).toEqual([
      "parent set the event", // set() does not yield: the child runs when the parent parks
      "child got true",
      "child cancelled",
      "parent: timeout has expired",
    ]);
    log.expectAt("child got true", 2);
    log.expectAt("child cancelled", 5);
  }, 5000);

  test("event_timeout.py, waiter variant: a task still in wait() is cancelled and leaves no waiter", async () => {
    const event = new Event<boolean>();
    const log = new Log();
    await run(async () => {
      await skipAfter(2 * U, async (pool) => {
        pool.spawn(async () => {
          try {
            await event.wait();
          } finally {
            log.push("waiter unwound");
          }
        });
      });
      log.push("parent goes on");
    });
    expect(log.labels).toEqual(["waiter unwound", "parent goes on"]);
    log.expectAt("waiter unwound", 2);
    expect(event.statistics().tasksWaiting).toBe(0);
  }, 5000);

  test("lock.py: each holder's items are contiguous while unlocked countdowns interleave", async () => {
    const log = new Log();
    const queue = new Queue<number>();
    const lock = new Lock();
    async function child(start: number, limit: number) {
      await lock.withLock(async () => {
        for (let n = start; n <= limit; n++) {
          log.push(`locked ${n}`);
          await queue.put(n);
          await sleep(U);
        }
      });
    }
    async function other(stop: number) {
      for (let n = stop; n > 0; n--) {
        log.push(`unlocked(${stop}) ${n}`);
        await sleep(U);
      }
    }
    const result = await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(child, 1, 5);
        pool.spawn(child, 6, 10);
        pool.spawn(other, 10);
        pool.spawn(other, 5);
      });
      log.push("main done");
      const items: number[] = [];
      while (queue.size > 0) items.push(await queue.get());
      return items;
    });
    const expected = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(result).toEqual(expected);
    const locked = log.labels.filter((label) => label.startsWith("locked"));
    expect(locked).toEqual(expected.map((n) => `locked ${n}`));
    // The countdowns ran beside the holders, not after them.
    const labels = log.labels;
    expect(labels.indexOf("unlocked(10) 9")).toBeLessThan(labels.indexOf("locked 5"));
    expect(labels.indexOf("unlocked(10) 4")).toBeLessThan(labels.indexOf("locked 10"));
    expect(labels.indexOf("unlocked(10) 4")).toBeGreaterThan(labels.indexOf("locked 6"));
    log.expectAt("locked 6", 5);
    log.expectAt("main done", 10);
  }, 5000);

  test("queue.py: Queue(2): the producer runs at most 2 ahead; items arrive in order", async () => {
    const log = new Log();
    async function producer(queue: Queue<number | null>, n: number) {
      for (let i = 0; i < n; i++) {
        await queue.put(i);
        log.push(`produced ${i}`);
      }
      await queue.put(null);
      log.push("producer done");
    }
    async function consumer(queue: Queue<number | null>) {
      while (true) {
        const item = await queue.get();
        if (item === null) break;
        log.push(`consumed ${item}`);
        await sleep(U);
      }
      log.push("consumer done");
    }
    await run(async () => {
      const queue = new Queue<number | null>(2);
      await withPool(async (pool) => {
        pool.spawn(producer, queue, 5);
        pool.spawn(consumer, queue);
      });
    });
    // A put() or get() that completes at once does not yield to the scheduler, but awaiting
    // it lets the other task's pending continuation run: the two interleave like this.
    expect(log.labels).toEqual([
      "produced 0",
      "consumed 0",
      "produced 1",
      "produced 2",
      "consumed 1",
      "produced 3",
      "consumed 2",
      "produced 4",
      "consumed 3",
      "producer done",
      "consumed 4",
      "consumer done",
    ]);
    log.expectAt("producer done", 3);
    log.expectAt("consumer done", 5);
  }, 5000);

  test("memory_channel.py: capacity 2: the sender finishes early, the receiver drains", async () => {
    const log = new Log();
    const [send, receive] = openMemoryChannel<string>(2);
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          for (let i = 0; i < 5; i++) {
            await send.send(String(i));
            log.push(`sent ${i}`);
          }
          send.close();
          log.push("sender done");
        });
        pool.spawn(async () => {
          // The script's loop: read until the channel is closed and drained.
          while (true) {
            let item: string;
            try {
              item = await receive.receive();
            } catch (error) {
              if (error instanceof EndOfChannel) break;
              throw error;
            }
            log.push(`received ${item}`);
            await sleep(U);
          }
          log.push("receiver done");
        });
      });
    });
    expect(log.labels).toEqual([
      "sent 0",
      "received 0",
      "sent 1",
      "sent 2",
      "received 1",
      "sent 3",
      "received 2",
      "sent 4",
      "sender done",
      "received 3",
      "received 4",
      "receiver done",
    ]);
    log.expectAt("sender done", 2);
    log.expectAt("receiver done", 5);
  }, 5000);

  test("task_ipc.py: three tasks share one channel under skipAfter(6); sends and receives alternate", async () => {
    const log = new Log();
    const sent: string[] = [];
    const received: string[] = [];
    const [send, receive] = openMemoryChannel<string>(Number.POSITIVE_INFINITY);
    let serial = 0;
    async function task(name: string) {
      while (true) {
        try {
          const data = receive.tryReceive();
          received.push(data);
          log.push(`${name} received`);
        } catch (error) {
          if (!(error instanceof WouldBlock)) throw error;
          const data = `${name}-${serial++}`;
          log.push(`${name} sending`);
          sent.push(data);
          await send.send(data);
        }
        await sleep(U);
      }
    }
    const leftovers: string[] = [];
    await run(async () => {
      await skipAfter(6 * U, async (pool) => {
        pool.spawn(task, "one");
        pool.spawn(task, "two");
        pool.spawn(task, "three");
      });
      send.close();
      log.push("channel closed");
      for await (const data of receive) leftovers.push(data);
    });
    const lines = log.labels.slice(0, -1);
    expect(log.labels.at(-1)).toBe("channel closed");
    log.expectAt("channel closed", 6);
    expect(lines.length).toBeGreaterThanOrEqual(15); // about 6 rounds of 3 tasks
    lines.forEach((line, i) => {
      expect(line.endsWith(i % 2 === 0 ? "sending" : "received")).toBe(true);
    });
    // Nothing lost, nothing duplicated, FIFO: what was received, then what was left over,
    // is exactly what was sent.
    expect([...received, ...leftovers]).toEqual(sent);
    expect(() => receive.tryReceive()).toThrow(EndOfChannel);
  }, 5000);
});
