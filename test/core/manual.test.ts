/**
 * Manual mode: scheduler.start(main) runs nothing until tick(); each tick is one iteration.
 */
import { describe, expect, test } from "bun:test";
import {
  checkpoint,
  connect,
  MockClock,
  Scheduler,
  sleep,
  until,
  withPool,
} from "../../src/index.ts";

describe("manual ticking", () => {
  test("nothing runs until tick(); each tick runs the ready tasks one step", async () => {
    const order: string[] = [];
    const scheduler = new Scheduler({ handleSignals: false });
    const main = scheduler.start(async () => {
      order.push("main 1");
      await withPool(async (pool) => {
        pool.spawn(async () => {
          order.push("child 1");
          await checkpoint();
          order.push("child 2");
        });
        order.push("main 2");
      });
      order.push("main 3");
      return 7;
    });
    expect(order).toEqual([]);
    expect(await scheduler.tick()).toBe(true);
    expect(order).toEqual(["main 1", "child 1", "main 2"]);
    expect(await scheduler.tick()).toBe(true);
    expect(order).toEqual(["main 1", "child 1", "main 2", "child 2"]);
    expect(await scheduler.tick()).toBe(false);
    expect(order.at(-1)).toBe("main 3");
    expect(main.state).toBe("finished");
    expect(main.result).toBe(7);
    expect(await main.join()).toBe(7);
    expect(await scheduler.tick()).toBe(false);
  });

  test("ticking until false completes main, waiting for real timers", async () => {
    const scheduler = new Scheduler({ handleSignals: false });
    const main = scheduler.start(async () => {
      await sleep(15);
      return "slept";
    });
    let ticks = 0;
    while (await scheduler.tick()) ticks++;
    expect(main.result).toBe("slept");
    expect(ticks).toBeGreaterThanOrEqual(1);
    expect(ticks).toBeLessThan(10);
  });

  test("a wake-up that arrives between ticks is delivered on the next tick", async () => {
    const scheduler = new Scheduler({ handleSignals: false });
    const { promise, resolve } = Promise.withResolvers<string>();
    const seen: string[] = [];
    scheduler.start(async () => {
      seen.push(await until(promise));
    });
    expect(await scheduler.tick()).toBe(true);
    resolve("from outside");
    await Bun.sleep(5);
    // Arrived, but not delivered: the loop advances only when ticked.
    expect(seen).toEqual([]);
    expect(await scheduler.tick()).toBe(false);
    expect(seen).toEqual(["from outside"]);
  });

  test("socket data that arrives between ticks is delivered on the next tick", async () => {
    const opened = Promise.withResolvers<{ write(data: string): number }>();
    const server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (socket) => opened.resolve(socket), data() {} },
    });
    try {
      const scheduler = new Scheduler({ handleSignals: false });
      const received: string[] = [];
      let connected = false;
      const main = scheduler.start(async () => {
        await using stream = await connect({ hostname: "127.0.0.1", port: server.port });
        connected = true; // and, in the same step, parked in receive():
        received.push(new TextDecoder().decode(await stream.receive()));
      });
      while (!connected) await scheduler.tick();
      (await opened.promise).write("hello");
      await Bun.sleep(20);
      expect(received).toEqual([]); // arrived, but nothing runs between ticks
      while (await scheduler.tick());
      expect(received).toEqual(["hello"]);
      expect(main.state).toBe("finished");
    } finally {
      server.stop(true);
    }
  }, 5000);

  test("with a mock clock, the caller drives time between ticks", async () => {
    const clock = new MockClock();
    const scheduler = new Scheduler({ clock, handleSignals: false });
    const main = scheduler.start(async () => {
      await sleep(1000);
      return "woke";
    });
    expect(await scheduler.tick()).toBe(true);
    expect(await scheduler.tick()).toBe(true); // nothing due: returns at once
    clock.jump(1000);
    expect(await scheduler.tick()).toBe(false);
    expect(main.result).toBe("woke");
  });

  test("tick() without start() is an error", async () => {
    await expect(new Scheduler().tick()).rejects.toThrow("tick() needs a scheduler started");
  });
});
