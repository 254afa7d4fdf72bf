import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  MockClock,
  Queue,
  run,
  Scheduler,
  skipAfter,
  sleep,
  TooSlowError,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { Log } from "../support/timeline.ts";

/** giambio's scripts count in seconds: one of their seconds is this many ms in the tests ported from them. */
const SCRIPT_SECOND = 25;

describe("Queue", () => {
  test("items come out in the order they went in; size follows", async () => {
    const queue = new Queue<number>();
    expect(queue.maxsize).toBe(Number.POSITIVE_INFINITY);
    const out = await run(async () => {
      for (let i = 0; i < 5; i++) await queue.put(i);
      expect(queue.size).toBe(5);
      const got: number[] = [];
      for (let i = 0; i < 5; i++) got.push(await queue.get());
      return got;
    });
    expect(out).toEqual([0, 1, 2, 3, 4]);
    expect(queue.size).toBe(0);
  });

  test("undefined is an item like any other", async () => {
    const queue = new Queue<undefined | number>();
    await run(async () => {
      await queue.put(undefined);
      await queue.put(1);
      expect(await queue.get()).toBeUndefined();
      expect(await queue.get()).toBe(1);
    });
  });

  test("put() waits while the queue is full, get() while it is empty", async () => {
    const queue = new Queue<string>(1);
    const log: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          log.push(`got ${await queue.get()}`);
          log.push(`got ${await queue.get()}`);
        });
        await queue.put("a"); // handed straight to the waiting getter
        await queue.put("b"); // buffered
        log.push("put a, b");
        await queue.put("c"); // full: waits until the getter takes b
        log.push("put c");
      });
    });
    expect(log).toEqual(["put a, b", "got a", "got b", "put c"]);
    expect(queue.size).toBe(1);
  });

  test("bad maxsize → clear errors", () => {
    expect(() => new Queue(0)).toThrow(
      "new Queue(maxsize) must be an integer >= 1 or Infinity, got 0",
    );
    expect(() => new Queue(-2)).toThrow(RangeError);
    expect(() => new Queue(2.5)).toThrow(RangeError);
    expect(() => new Queue(Number.NaN)).toThrow(RangeError);
    // @ts-expect-error a deliberately bad argument
    expect(() => new Queue("3")).toThrow(
      'new Queue(maxsize) must be an integer >= 1 or Infinity, got "3"',
    );
  });

  test("for await gets items until the loop is cancelled", async () => {
    const queue = new Queue<number>();
    const got: number[] = [];
    await run(async () => {
      await skipAfter(30, async (pool) => {
        pool.spawn(async () => {
          for await (const item of queue) got.push(item);
        });
        for (let i = 0; i < 3; i++) await queue.put(i);
      });
    });
    expect(got).toEqual([0, 1, 2]);
    expect(queue.statistics().tasksWaitingGet).toBe(0);
  }, 5000);

  test("for await ends on break", async () => {
    const queue = new Queue<number>();
    await run(async () => {
      for (let i = 0; i < 5; i++) await queue.put(i);
      for await (const item of queue) if (item === 2) break;
    });
    expect(queue.size).toBe(2);
  });

  test("getters and putters are served first come, first served", async () => {
    const queue = new Queue<number>(1);
    const got: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        for (let g = 0; g < 20; g++) pool.spawn(async () => got.push(`${g}:${await queue.get()}`));
        for (let p = 0; p < 20; p++) pool.spawn(() => queue.put(p));
      });
    });
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `${i}:${i}`));
    got.length = 0;
    await run(async () => {
      await withPool(async (pool) => {
        for (let p = 0; p < 20; p++) pool.spawn(() => queue.put(p));
        expect(queue.statistics().tasksWaitingPut).toBe(19);
        for (let g = 0; g < 20; g++) pool.spawn(async () => got.push(`${g}:${await queue.get()}`));
      });
    });
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `${i}:${i}`));
  });

  test("a cancelled getter does not swallow the next item (giambio bug)", async () => {
    const queue = new Queue<string>();
    await run(async () => {
      await withPool(async (pool) => {
        const doomed = pool.spawn(() => queue.get());
        let received: string | undefined;
        pool.spawn(async () => {
          received = await queue.get();
        });
        doomed.cancel();
        await checkpoint();
        expect(doomed.state).toBe("cancelled");
        expect(queue.statistics().tasksWaitingGet).toBe(1);
        await queue.put("item");
        await checkpoint();
        expect(received).toBe("item");
      });
    });
    expect(queue.statistics()).toEqual({
      size: 0,
      maxsize: Number.POSITIVE_INFINITY,
      tasksWaitingPut: 0,
      tasksWaitingGet: 0,
    });
  });

  test("a getter cancelled right after it was handed an item still gets it", async () => {
    const queue = new Queue<string>();
    let received: string | undefined;
    await run(async () => {
      await withPool(async (pool) => {
        const getter = pool.spawn(async () => {
          received = await queue.get();
          await checkpoint();
        });
        await queue.put("item");
        getter.cancel();
      });
    });
    expect(received).toBe("item");
  });

  test("a cancelled putter's item is never delivered", async () => {
    const queue = new Queue<string>(1);
    await run(async () => {
      await withPool(async (pool) => {
        await queue.put("first");
        const doomed = pool.spawn(() => queue.put("never"));
        pool.spawn(() => queue.put("second"));
        expect(queue.statistics().tasksWaitingPut).toBe(2);
        doomed.cancel();
        await checkpoint();
        expect(doomed.error).toBeInstanceOf(CancelledError);
        expect(queue.statistics().tasksWaitingPut).toBe(1);
        expect(await queue.get()).toBe("first");
        expect(await queue.get()).toBe("second");
        expect(queue.size).toBe(0);
      });
    });
    expect(queue.statistics().tasksWaitingPut).toBe(0);
  });

  test("put() and get() in a cancelled scope → CancelledError, nothing added or taken", async () => {
    const queue = new Queue<number>();
    await run(async () => {
      await queue.put(1);
      await withPool(async (pool) => {
        pool.cancel();
        await expect(queue.put(2)).rejects.toBeInstanceOf(CancelledError);
        await expect(queue.get()).rejects.toBeInstanceOf(CancelledError);
      });
      expect(queue.size).toBe(1);
      expect(await queue.get()).toBe(1);
    });
  });

  test("get() and put() under withTimeout give up and leave no waiter", async () => {
    const queue = new Queue<number>(1);
    await run(async () => {
      await expect(withTimeout(15, () => queue.get())).rejects.toBeInstanceOf(TooSlowError);
      await queue.put(1);
      await expect(withTimeout(15, () => queue.put(2))).rejects.toBeInstanceOf(TooSlowError);
      expect(await queue.get()).toBe(1);
    });
    expect(queue.statistics()).toEqual({
      size: 0,
      maxsize: 1,
      tasksWaitingPut: 0,
      tasksWaitingGet: 0,
    });
  }, 5000);

  // Port of giambio's tests/queue.py (github.com/nocturn9x/giambio).
  test("Queue(2): the producer runs at most 2 ahead; items arrive in order", async () => {
    // Virtual time: the interleaving of equal deadlines must not depend on the machine's load.
    const clock = new MockClock({ autojump: true });
    const log = new Log(SCRIPT_SECOND, () => clock.now());
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
        await sleep(SCRIPT_SECOND);
      }
      log.push("consumer done");
    }
    await new Scheduler({ clock, handleSignals: false }).run(async () => {
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
});
