/**
 * A task that ends while still registered on a wait it never awaited: the wait is undone,
 * so a later wake-up neither resumes the finished task nor overwrites its outcome, and a
 * lock is not handed to it.
 */
import { expect, test } from "bun:test";
import { checkpoint, Lock, MockClock, Scheduler, sleep, withPool } from "../../src/index.ts";

test("a sleep left running by a finished task does not change its result", async () => {
  const scheduler = new Scheduler({ clock: new MockClock({ autojump: true }) });
  const result = await scheduler.run(async () => {
    let value: unknown;
    await withPool(async (pool) => {
      const task = pool.spawn(async () => {
        void sleep(5).catch(() => {});
        return 7;
      });
      await sleep(10);
      value = task.result;
      expect(task.state).toBe("finished");
    });
    return value;
  });
  expect(result).toBe(7);
});

test("a checkpoint left queued by a finished task resumes nothing", async () => {
  const steps: string[] = [];
  await withPoolRun(async (pool) => {
    const task = pool.spawn(() => {
      void checkpoint();
      steps.push("returned");
      return 1;
    });
    await checkpoint();
    await checkpoint();
    expect(task.state).toBe("finished");
    expect(task.result).toBe(1);
  });
  expect(steps).toEqual(["returned"]);
});

test("a lock waited on by a finished task goes to the next waiter", async () => {
  const lock = new Lock();
  const order: string[] = [];
  await withPoolRun(async (pool) => {
    await lock.acquire();
    pool.spawn(() => {
      void lock.acquire().catch(() => {});
      order.push("gone");
    });
    pool.spawn(async () => {
      await lock.acquire();
      order.push("second");
      lock.release();
    });
    await checkpoint();
    lock.release();
  });
  expect(order).toEqual(["gone", "second"]);
  expect(lock.locked).toBe(false);
});

function withPoolRun(body: Parameters<typeof withPool>[0]): Promise<unknown> {
  return new Scheduler({ handleSignals: false }).run(() => withPool(body));
}
