import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  Event,
  GiambioError,
  MockClock,
  type Pool,
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

describe("Event", () => {
  test("wait() resolves with the value given to set(); isSet and value follow", async () => {
    const event = new Event<string>();
    expect(event.isSet).toBe(false);
    expect(event.value).toBeUndefined();
    const got = await run(async () => {
      let received: string | undefined;
      await withPool(async (pool) => {
        pool.spawn(async () => {
          received = await event.wait();
        });
        event.set("go");
      });
      return received;
    });
    expect(got).toBe("go");
    expect(event.isSet).toBe(true);
    expect(event.value).toBe("go");
  });

  test("wait() on an event already set returns its value at once", async () => {
    const event = new Event<number>();
    event.set(7);
    expect(await run(() => event.wait())).toBe(7);
  });

  test("an Event<void> is set without an argument", async () => {
    const event = new Event();
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(() => event.wait());
        event.set();
      });
    });
    expect(event.isSet).toBe(true);
  });

  test("a second set() throws GiambioError naming the value already held", () => {
    const event = new Event<number>();
    event.set(1);
    expect(() => event.set(2)).toThrow(GiambioError);
    expect(() => event.set(2)).toThrow(/already set \(with value 1\)/);
    expect(event.value).toBe(1);
  });

  test("set() does not yield: waiters run when the setter next suspends", async () => {
    const log: string[] = [];
    const event = new Event<number>();
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          log.push(`waiter got ${await event.wait()}`);
        });
        event.set(1);
        log.push("setter after set");
        await checkpoint();
        log.push("setter after checkpoint");
      });
    });
    expect(log).toEqual(["setter after set", "waiter got 1", "setter after checkpoint"]);
  });

  test("waiters wake in the order they started waiting", async () => {
    const order: number[] = [];
    const event = new Event();
    await run(async () => {
      await withPool(async (pool) => {
        for (let i = 0; i < 50; i++) {
          pool.spawn(async () => {
            await event.wait();
            order.push(i);
          });
        }
        expect(event.statistics().tasksWaiting).toBe(50);
        event.set();
      });
    });
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  test("a cancelled waiter leaves the queue; the others still get the value", async () => {
    const event = new Event<string>();
    const got: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        const doomed = pool.spawn(() => event.wait());
        pool.spawn(async () => {
          got.push(await event.wait());
        });
        expect(event.statistics().tasksWaiting).toBe(2);
        doomed.cancel();
        await checkpoint();
        expect(doomed.state).toBe("cancelled");
        expect(event.statistics().tasksWaiting).toBe(1);
        event.set("v");
      });
    });
    expect(got).toEqual(["v"]);
    expect(event.statistics().tasksWaiting).toBe(0);
  });

  test("wait() is a cancellation point even when the event is already set", async () => {
    const event = new Event<number>();
    event.set(1);
    await run(async () => {
      await withPool(async (pool) => {
        pool.cancel();
        await expect(event.wait()).rejects.toBeInstanceOf(CancelledError);
      });
    });
  });

  test("wait() under withTimeout rejects with TooSlowError and leaves no waiter", async () => {
    const event = new Event();
    await run(async () => {
      await expect(withTimeout(20, () => event.wait())).rejects.toBeInstanceOf(TooSlowError);
      expect(await skipAfter(20, () => event.wait())).toBeUndefined();
    });
    expect(event.statistics().tasksWaiting).toBe(0);
  }, 5000);

  test("wait() outside a running loop rejects with GiambioError", async () => {
    await expect(new Event().wait()).rejects.toThrow(/giambio is not running/);
  });

  // Port of giambio's tests/events.py (github.com/nocturn9x/giambio).
  test("the waiter gets the value at 3 and runs before the setter goes on", async () => {
    // Virtual time: the interleaving of equal deadlines must not depend on the machine's load.
    const clock = new MockClock({ autojump: true });
    const log = new Log(SCRIPT_SECOND, () => clock.now());
    async function child(event: Event<boolean>, pause: number) {
      log.push("child waiting");
      log.push(`child got ${await event.wait()}`);
      await sleep(pause * SCRIPT_SECOND);
      log.push("child done");
    }
    await new Scheduler({ clock, handleSignals: false }).run(async (pause: number) => {
      const event = new Event<boolean>();
      await withPool(async (pool) => {
        const task = pool.spawn(child, event, pause + 2);
        await sleep(pause * SCRIPT_SECOND);
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

  // Port of giambio's tests/event_timeout.py (github.com/nocturn9x/giambio).
  test("skipAfter(5) cancels the child at 5 and the parent goes on", async () => {
    // Virtual time: the interleaving of equal deadlines must not depend on the machine's load.
    const clock = new MockClock({ autojump: true });
    const log = new Log(SCRIPT_SECOND, () => clock.now());
    async function child(event: Event<boolean>, pause: number) {
      try {
        log.push(`child got ${await event.wait()}`);
        await sleep(pause * SCRIPT_SECOND);
        log.push("child done");
      } catch (error) {
        log.push("child cancelled");
        throw error;
      }
    }
    await new Scheduler({ clock, handleSignals: false }).run(async (pause: number) => {
      let pool: Pool | undefined;
      await skipAfter(5 * SCRIPT_SECOND, async (p) => {
        pool = p;
        const event = new Event<boolean>();
        p.spawn(child, event, pause + 2);
        await sleep(pause * SCRIPT_SECOND);
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

  // Port of giambio's tests/event_timeout.py (github.com/nocturn9x/giambio).
  test("a task still in wait() is cancelled and leaves no waiter", async () => {
    const event = new Event<boolean>();
    // Virtual time: the interleaving of equal deadlines must not depend on the machine's load.
    const clock = new MockClock({ autojump: true });
    const log = new Log(SCRIPT_SECOND, () => clock.now());
    await new Scheduler({ clock, handleSignals: false }).run(async () => {
      await skipAfter(2 * SCRIPT_SECOND, async (pool) => {
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
});
