/**
 * Pools and their error rules: siblings cancelled, everything awaited, one error rethrown
 * unchanged, several as ErrorGroup, nothing lost, no task outliving its pool.
 */
import { describe, expect, test } from "bun:test";
import type { TaskInternal } from "../../src/core/task.ts";
import {
  CancelledError,
  checkpoint,
  currentTask,
  ErrorGroup,
  Event,
  GiambioError,
  MockClock,
  type Pool,
  run,
  Scheduler,
  skipAfter,
  sleep,
  sleepForever,
  type Task,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { expectAround, Timeline } from "../support/timeline.ts";

/** giambio's scripts count in seconds: one of their seconds is this many ms in the tests ported from them. */
const SCRIPT_SECOND = 40;

/** A child that sleeps `units` script seconds, then marks `nap <units>` on `t`. */
const napper = (t: Timeline, units: number) => async () => {
  await sleep(units * SCRIPT_SECOND);
  t.mark(`nap ${units}`);
};

/** A child that sleeps `units` script seconds, then throws `error`. */
const failAfter = (units: number, error: unknown) => async () => {
  await sleep(units * SCRIPT_SECOND);
  throw error;
};

/**
 * A timeline in virtual time and the run that drives it: giambio's timing scripts assert when
 * things happened, which on a loaded machine only a `MockClock` makes exact (real time was
 * seen 0.96 units late).
 */
function virtualTimeline(): { t: Timeline; runVirtual: <T>(main: () => Promise<T>) => Promise<T> } {
  const clock = new MockClock({ autojump: true });
  const scheduler = new Scheduler({ clock });
  return {
    t: new Timeline(SCRIPT_SECOND, () => clock.now()),
    runVirtual: (main) => scheduler.run(main),
  };
}

/** The main of giambio's error scripts: runs `body`, returns what it threw, marks "main caught". */
function caughtByMain(
  { t, runVirtual }: ReturnType<typeof virtualTimeline>,
  body: () => Promise<void>,
): Promise<unknown> {
  return runVirtual(async () => {
    try {
      await body();
    } catch (error) {
      t.mark("main caught");
      return error;
    }
  });
}

describe("pool errors", () => {
  test("a child that fails while the parent body is still sleeping reaches the parent", async () => {
    const order: string[] = [];
    const error = await run(async () => {
      try {
        await withPool(async (pool) => {
          pool.spawn(async () => {
            await sleep(10);
            throw new RangeError("child failed");
          });
          try {
            await sleep(10_000);
          } finally {
            order.push("body unwound");
          }
        });
      } catch (e) {
        order.push("caught");
        return e;
      }
    });
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe("child failed");
    expect(order).toEqual(["body unwound", "caught"]);
  });

  test("two children failing at once give an ErrorGroup in order of occurrence", async () => {
    const a = new Error("a");
    const b = new TypeError("b");
    // One event releases both in the same iteration (two 10 ms sleeps could land in
    // different millisecond timer buckets and fail one at a time).
    const go = new Event();
    const error = await run(() =>
      withPool(async (pool) => {
        pool.spawn(async () => {
          await go.wait();
          throw a;
        });
        pool.spawn(async () => {
          await go.wait();
          throw b;
        });
        await sleep(10);
        go.set();
      }).catch((e) => e),
    );
    expect(error).toBeInstanceOf(ErrorGroup);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as ErrorGroup).errors).toEqual([a, b]);
    expect((error as Error).message).toContain("Error: a; TypeError: b");
  });

  test("an error raised in a sibling's finally block while unwinding is not lost", async () => {
    const first = new Error("first");
    const cleanup = new Error("cleanup failed");
    const error = await run(() =>
      withPool(async (pool) => {
        pool.spawn(async () => {
          try {
            await sleepForever();
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the point of the test
            throw cleanup;
          }
        });
        await sleep(5);
        throw first;
      }).catch((e) => e),
    );
    expect(error).toBeInstanceOf(ErrorGroup);
    expect((error as ErrorGroup).errors).toEqual([first, cleanup]);
  });

  test("the body's own error cancels the children and is rethrown unchanged", async () => {
    const boom = new SyntaxError("body");
    let childCancelled = false;
    const error = await run(() =>
      withPool(async (pool) => {
        pool.spawn(async () => {
          try {
            await sleepForever();
          } catch (e) {
            childCancelled = e instanceof CancelledError;
            throw e;
          }
        });
        throw boom;
      }).catch((e) => e),
    );
    expect(error).toBe(boom);
    expect(childCancelled).toBe(true);
  });

  test("a synchronous function can be spawned; its throw is an error of the pool", async () => {
    const error = await run(() =>
      withPool((pool) => {
        pool.spawn(() => {
          throw new Error("sync throw");
        });
      }).catch((e) => e),
    );
    expect((error as Error).message).toBe("sync throw");
  });

  test("non-Error values thrown by a child are preserved", async () => {
    const thrown = await run(() =>
      withPool((pool) => {
        pool.spawn(async () => {
          throw "a string";
        });
      }).catch((e) => e),
    );
    expect(thrown).toBe("a string");
  });

  // Port of giambio's tests/exceptions.py (github.com/nocturn9x/giambio).
  test("a child's error cancels its sibling and reaches main unchanged", async () => {
    const timeline = virtualTimeline();
    const { t } = timeline;
    const rip = new TypeError("rip");
    const caught = await caughtByMain(timeline, () =>
      withPool(async (pool) => {
        pool.spawn(failAfter(2, rip));
        pool.spawn(napper(t, 8));
      }),
    );
    expect(caught).toBe(rip);
    expect(t.labels).toEqual(["main caught"]);
    expectAround(t.unitsAt("main caught"), 2);
  });

  // Port of giambio's tests/nested_exception.py (github.com/nocturn9x/giambio).
  test("an error in the outer pool cancels the inner pool too", async () => {
    const timeline = virtualTimeline();
    const { t } = timeline;
    const caught = await caughtByMain(timeline, () =>
      withPool(async (outer) => {
        outer.spawn(failAfter(2, new TypeError("rip")));
        outer.spawn(napper(t, 2.5));
        await withPool(async (inner) => {
          inner.spawn(napper(t, 4));
          inner.spawn(napper(t, 6));
        });
      }),
    );
    expect(caught).toBeInstanceOf(TypeError);
    expect(t.labels).toEqual(["main caught"]);
    expectAround(t.unitsAt("main caught"), 2);
  });

  // Port of giambio's tests/triple_nested_exception.py (github.com/nocturn9x/giambio).
  test("an error in the middle one of three nested pools cancels all three (trio's semantics)", async () => {
    const timeline = virtualTimeline();
    const { t } = timeline;
    const caught = await caughtByMain(timeline, () =>
      withPool(async (a) => {
        a.spawn(napper(t, 5));
        a.spawn(napper(t, 5));
        await withPool(async (b) => {
          b.spawn(failAfter(2, new TypeError("rip")));
          await withPool(async (c) => {
            c.spawn(napper(t, 4));
            c.spawn(napper(t, 6));
          });
        });
      }),
    );
    expect(caught).toBeInstanceOf(TypeError);
    expect(t.labels).toEqual(["main caught"]);
    expectAround(t.unitsAt("main caught"), 2);
  });
});

describe("tasks and joins", () => {
  test("join returns the value; a sibling can join; joining a failed task rethrows", async () => {
    const failure = new Error("nope");
    const result = await run(async () => {
      const values: unknown[] = [];
      const error = await withPool(async (pool) => {
        const worker = pool.spawn(async () => {
          await sleep(10);
          return 42;
        });
        pool.spawn(async function sibling() {
          values.push(await worker.join());
        });
        values.push(await worker.join());
        const failing = pool.spawn(async () => {
          await sleep(5);
          throw failure;
        });
        await failing.join();
      }).catch((e) => e);
      return { values, error };
    });
    expect(result.values).toEqual([42, 42]);
    // The joiner rethrew the same error the child raised: reported once, not twice.
    expect(result.error).toBe(failure);
  });

  test("task state, result and error", async () => {
    await run(async () => {
      let ok: Task<number> | undefined;
      let bad: Task<never> | undefined;
      let stopped: Task<void> | undefined;
      await withPool(async (pool) => {
        ok = pool.spawn(async () => {
          await checkpoint();
          return 1;
        });
        stopped = pool.spawn(() => sleepForever());
        expect(ok.state).toBe("running");
        expect(ok.done).toBe(false);
        await sleep(1);
        stopped.cancel();
        bad = pool.spawn(async () => {
          throw new Error("bad");
        });
      }).catch(() => {});
      expect(ok?.state).toBe("finished");
      expect(ok?.done).toBe(true);
      expect(ok?.result).toBe(1);
      expect(bad?.state).toBe("failed");
      expect((bad?.error as Error | undefined)?.message).toBe("bad");
      expect(stopped?.state).toBe("cancelled");
      expect(stopped?.error).toBeInstanceOf(CancelledError);
    });
  });

  test("a task cannot join itself", async () => {
    await run(async () => {
      await withPool(async (pool) => {
        const self: { task?: Task } = {};
        self.task = pool.spawn(async () => {
          await checkpoint();
          return (self.task as Task).join();
        });
        await expect(self.task.join()).rejects.toThrow("cannot join itself");
      }).catch(() => {});
    });
  });

  test("join is a cancellation point and leaves no joiner behind", async () => {
    await run(async () => {
      await withPool(async (pool) => {
        const slow = pool.spawn(async () => {
          await sleep(40);
          return "slow";
        });
        const value = await skipAfter(5, () => slow.join());
        expect(value).toBeUndefined();
        // The cancelled joiner is gone: the task still finishes and can be joined again.
        expect(await slow.join()).toBe("slow");
      });
    });
  });

  test("join from outside the loop is a plain promise", async () => {
    let task: Task<number> | undefined;
    const done = run(async () => {
      await withPool(async (pool) => {
        task = pool.spawn(async () => {
          await sleep(10);
          return 9;
        });
      });
    });
    await Bun.sleep(1);
    expect(await (task as Task<number>).join()).toBe(9);
    await done;
  });

  test("pool.tasks lists the live children", async () => {
    await run(async () => {
      await withPool(async (pool) => {
        const a = pool.spawn(async function a() {
          await sleep(10);
        });
        const b = pool.spawn(async function b() {
          await sleep(20);
        });
        expect(pool.tasks).toEqual([a, b]);
        await a.join();
        expect(pool.tasks).toEqual([b]);
      });
    });
  });
});

describe("structure", () => {
  test("no task outlives its pool, even one that ignores cancellation for a while", async () => {
    const events: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          try {
            await sleepForever();
          } finally {
            // A foreign await in cleanup: the pool still waits for it.
            await new Promise((resolve) => setTimeout(resolve, 20));
            events.push("child cleanup done");
          }
        });
        await sleep(5);
        pool.cancel();
      });
      events.push("pool exited");
    });
    expect(events).toEqual(["child cleanup done", "pool exited"]);
  });

  test("spawning into a finished pool is a GiambioError", async () => {
    await run(async () => {
      let saved: Pool | undefined;
      await withPool((pool) => {
        saved = pool;
      });
      expect(() => saved?.spawn(async function late() {})).toThrow(
        new GiambioError("cannot spawn 'late' into a pool that has already finished"),
      );
    });
  });

  test("a child may spawn into its parent's pool while the pool waits", async () => {
    const order: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await sleep(10);
          pool.spawn(async () => {
            await sleep(10);
            order.push("grandchild");
          });
          order.push("child");
        });
      });
      order.push("exited");
    });
    expect(order).toEqual(["child", "grandchild", "exited"]);
  });

  test("a withPool that is not awaited is reported, not silently orphaned", async () => {
    const error = await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          void withPool(async (inner) => {
            inner.spawn(sleepForever);
          });
        });
      });
    }).catch((e) => e);
    expect(error).toBeInstanceOf(GiambioError);
    expect((error as Error).message).toContain("await every withPool()");
  });

  test("withPool resolves with the body's value", async () => {
    expect(await run(() => withPool(async () => "value"))).toBe("value");
  });

  // Port of giambio's tests/sleep.py (github.com/nocturn9x/giambio).
  test("two sleeping children; spawn runs each to its first suspension", async () => {
    const { t, runVirtual } = virtualTimeline();
    async function child(name: string, units: number) {
      t.mark(`${name} spawned`);
      await sleep(units * SCRIPT_SECOND);
      t.mark(`${name} done`);
    }
    await runVirtual(async () => {
      await withPool(async (pool) => {
        pool.spawn(child, "child", 4);
        pool.spawn(child, "child1", 2);
        t.mark("main awaiting completion");
      });
      t.mark("pool exited");
    });
    expect(t.labels).toEqual([
      "child spawned",
      "child1 spawned",
      "main awaiting completion",
      "child1 done",
      "child done",
      "pool exited",
    ]);
    expectAround(t.unitsAt("child1 done"), 2);
    expectAround(t.unitsAt("child done"), 4);
    expectAround(t.unitsAt("pool exited"), 4);
  });

  // Port of giambio's tests/nested_pool.py (github.com/nocturn9x/giambio).
  test("four children in two nested pools finish at 1, 2, 3, 4", async () => {
    const { t, runVirtual } = virtualTimeline();
    async function child(units: number) {
      await sleep(units * SCRIPT_SECOND);
      t.mark(`child(${units})`);
    }
    await runVirtual(async () => {
      await withPool(async (outer) => {
        outer.spawn(child, 1);
        outer.spawn(child, 2);
        await withPool(async (inner) => {
          inner.spawn(child, 3);
          inner.spawn(child, 4);
        });
      });
      t.mark("exited");
    });
    expect(t.labels).toEqual(["child(1)", "child(2)", "child(3)", "child(4)", "exited"]);
    expectAround(t.unitsAt("exited"), 4);
  });
});

describe("deadlines", () => {
  test("20,000 deadlines entered and left leave no entry, slot or stale bucket behind", async () => {
    await run(async () => {
      // The loop behind the public task (tests may look inside).
      const loop = (currentTask() as TaskInternal).scheduler;
      const start = performance.now();
      for (let i = 0; i < 20_000; i++) await withTimeout(1000, () => i);
      const elapsed = performance.now() - start;
      const stats = loop.timerStats();
      // No deadline is left on the queue, and no slot of one.
      expect(stats.entries).toBe(0);
      expect(stats.slots).toBe(0);
      // At most one emptied bucket per millisecond that passed, not one per deadline.
      expect(stats.buckets).toBeLessThanOrEqual(Math.ceil(elapsed) + 2);
    });
  });

  test("an outer cancellation passes through an inner pool to the scope that caused it", async () => {
    const seen: string[] = [];
    await run(async () => {
      const value = await skipAfter(10, async () => {
        await withPool(async (inner) => {
          inner.spawn(sleepForever);
          await sleepForever();
        }).catch((e) => {
          seen.push((e as Error).name);
          throw e;
        });
        return "not here";
      });
      expect(value).toBeUndefined();
    });
    expect(seen).toEqual(["CancelledError"]);
  });
});
