/**
 * Cancel reasons: a `CancelledError` says why the cancellation happened, built from the
 * reason the cancelled scope recorded (trio's CancelReason), whoever receives it.
 */
import { describe, expect, test } from "bun:test";
import {
  Event,
  GiambioError,
  MockClock,
  Scheduler,
  sleep,
  sleepForever,
  withPool,
  withTimeout,
} from "../../src/index.ts";

const autojump = () => new Scheduler({ clock: new MockClock({ autojump: true }) });

describe("CancelledError says why", () => {
  test("task.cancel(): the task was cancelled explicitly", async () => {
    let message = "";
    await autojump().run(() =>
      withPool(async (pool) => {
        const task = pool.spawn(async function victim() {
          try {
            await sleepForever();
          } catch (error) {
            message = (error as Error).message;
            throw error;
          }
        });
        task.cancel();
      }),
    );
    expect(message).toBe("task 'victim' was cancelled: task.cancel() was called");
  });

  test("pool.cancel(): the task's pool was cancelled", async () => {
    let message = "";
    await autojump().run(() =>
      withPool(async (pool) => {
        pool.spawn(async function victim() {
          await sleepForever().catch((error) => {
            message = error.message;
          });
        });
        pool.cancel();
      }),
    );
    expect(message).toBe("task 'victim' was cancelled: its pool was cancelled (pool.cancel())");
  });

  test("a deadline: its deadline passed", async () => {
    let message = "";
    await autojump().run(() =>
      withTimeout(10, () =>
        sleepForever().catch((error) => {
          message = error.message;
          throw error;
        }),
      ).catch(() => {}),
    );
    expect(message).toBe("task 'main' was cancelled: its deadline passed");
  });

  test("a failing sibling: the pool is failing, with the sibling's error", async () => {
    let message = "";
    const outcome = autojump().run(() =>
      withPool(async (pool) => {
        pool.spawn(async function bystander() {
          await sleepForever().catch((error) => {
            message = error.message;
          });
        });
        pool.spawn(async function failing() {
          await sleep(1);
          throw new RangeError("boom");
        });
      }),
    );
    await expect(outcome).rejects.toThrow("boom");
    expect(message).toBe("task 'bystander' was cancelled: its pool is failing: RangeError: boom");
  });

  test("a cancelled parent task: the child names it", async () => {
    let message = "";
    await autojump().run(() =>
      withPool(async (pool) => {
        const parent = pool.spawn(async function parent() {
          await withPool(async (inner) => {
            inner.spawn(async function child() {
              await sleepForever().catch((error) => {
                message = error.message;
              });
            });
          });
        });
        await sleep(1);
        parent.cancel();
      }),
    );
    expect(message).toBe(
      "task 'child' was cancelled: task 'parent', which it runs in, was cancelled",
    );
  });

  test("a deadlock: each blocked task is told the report, and run rejects with it", async () => {
    let message = "";
    const outcome = new Scheduler().run(() =>
      withPool(async (pool) => {
        pool.spawn(async function stuck() {
          await new Event().wait().catch((error) => {
            message = error.message;
            throw error;
          });
        });
      }),
    );
    await expect(outcome).rejects.toThrow(GiambioError);
    await expect(outcome).rejects.toThrow("deadlock: every task is blocked");
    expect(message).toStartWith("task 'stuck' was cancelled: deadlock: every task is blocked");
    expect(message).toContain("'stuck' waits on Event.wait()");
  });
});
