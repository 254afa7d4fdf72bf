/**
 * pool.start (trio's nursery.start): the starter waits until the child calls started(value),
 * and every way that can go wrong ends the wait with a clear outcome.
 */
import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  Event,
  GiambioError,
  MockClock,
  type Pool,
  Scheduler,
  type Started,
  sleep,
  sleepForever,
  withPool,
  withTimeout,
} from "../../src/index.ts";

const autojump = () => new Scheduler({ clock: new MockClock({ autojump: true }) });

describe("pool.start", () => {
  test("resolves with the value given to started() and leaves the child running in the pool", async () => {
    const log: string[] = [];
    await autojump().run(() =>
      withPool(async (pool) => {
        const port = await pool.start(async function server(
          started: Started<number>,
          base: number,
        ) {
          await sleep(10); // binding takes a while
          log.push("listening");
          started(base + 1);
          await sleep(10);
          log.push("server done");
        }, 8000);
        log.push(`got ${port}`);
        expect(pool.tasks.map((task) => task.name)).toEqual(["server"]);
      }),
    );
    // The starter went on only after started(), and the child outlived the start.
    expect(log).toEqual(["listening", "got 8001", "server done"]);
  });

  test("started() called in the child's first step resolves without parking", async () => {
    const value = await autojump().run(() =>
      withPool((pool) =>
        pool.start(async (started: Started<string>) => {
          started("ready");
          await sleep(1);
        }),
      ),
    );
    expect(value).toBe("ready");
  });

  test("started() with no value resolves undefined", async () => {
    const value = await autojump().run(() =>
      withPool((pool) => pool.start(async (started) => started())),
    );
    expect(value).toBeUndefined();
  });

  test("a child that fails before started() rejects start with its error, and the pool lives on", async () => {
    let sibling = "";
    const caught = await autojump().run(() =>
      withPool(async (pool) => {
        pool.spawn(async () => {
          await sleep(20);
          sibling = "finished"; // not cancelled: the failed start did not fail the pool
        });
        return pool
          .start(async () => {
            await sleep(5);
            throw new RangeError("bind failed");
          })
          .catch((error) => error);
      }),
    );
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as Error).message).toBe("bind failed");
    expect(sibling).toBe("finished");
  });

  test("a child that throws synchronously rejects start", async () => {
    const caught = await autojump().run(() =>
      withPool((pool) =>
        pool
          .start(() => {
            throw new TypeError("at once");
          })
          .catch((error) => error),
      ),
    );
    expect((caught as Error).message).toBe("at once");
  });

  test("a child that returns before started() rejects start with a GiambioError naming it", async () => {
    const caught = await autojump().run(() =>
      withPool((pool) =>
        pool
          .start(async function lazy() {
            await sleep(1);
          })
          .catch((error) => error),
      ),
    );
    expect(caught).toBeInstanceOf(GiambioError);
    expect((caught as Error).message).toContain("task 'lazy' returned without calling started()");
  });

  test("cancelling the starter while it waits cancels the child too", async () => {
    let child = "";
    const outcome = await autojump().run(async () => {
      const result = await withPool(async (outer) => {
        let starting: Promise<void> | undefined;
        await withTimeout(10, async () => {
          starting = outer.start(async function slow(started) {
            try {
              await sleepForever();
              started();
            } catch (error) {
              child = (error as Error).name;
              throw error;
            }
          });
          await starting;
        }).catch((error) => error.name);
        return outer.tasks.length;
      });
      return result;
    });
    expect(child).toBe("CancelledError");
    // The child is gone with the starter: nothing of it is left in the pool.
    expect(outcome).toBe(0);
  });

  test("a starter already cancelled does not start the child", async () => {
    let ran = false;
    await autojump().run(() =>
      withPool(async (pool) => {
        pool.cancel();
        const caught = await pool
          .start(async (started) => {
            ran = true;
            started();
          })
          .catch((error) => error);
        expect(caught).toBeInstanceOf(CancelledError);
      }),
    );
    expect(ran).toBe(false);
  });

  test("the pool cancelled before started(): start rejects with a GiambioError, not a stray CancelledError", async () => {
    const caught = await autojump().run(() =>
      withPool(async (outer) => {
        // The pool lives in another task, so cancelling it does not cancel the starter.
        let inner: Pool | undefined;
        const ready = new Event();
        outer.spawn(async function holder() {
          await withPool(async (pool) => {
            inner = pool;
            ready.set();
            await sleepForever();
          });
        });
        await ready.wait();
        const pool = inner as Pool;
        outer.spawn(async () => {
          await sleep(1);
          pool.cancel();
        });
        return pool
          .start(async function child(started) {
            await sleepForever();
            started();
          })
          .catch((error) => error);
      }),
    );
    expect(caught).toBeInstanceOf(GiambioError);
    expect(caught).not.toBeInstanceOf(CancelledError);
    expect((caught as Error).message).toContain(
      "task 'child' was cancelled before it called started()",
    );
  });

  test("started() twice is an error in the child; a failure after started() fails the pool", async () => {
    const outcome = autojump().run(() =>
      withPool(async (pool) => {
        await pool.start(async (started) => {
          started();
          started();
        });
      }),
    );
    await expect(outcome).rejects.toThrow("started() was called twice");
  });

  test("bad arguments: fn must be a function, as a rejected promise", async () => {
    await autojump().run(() =>
      withPool(async (pool) => {
        const result = pool.start(42 as never);
        expect(result).toBeInstanceOf(Promise);
        await expect(result).rejects.toThrow(
          new TypeError("pool.start(fn) must be a function, got 42"),
        );
      }),
    );
  });
});
