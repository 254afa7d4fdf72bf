/**
 * Clocks are validated, and so are their readings: a clock that cannot tell the time fails
 * at construction when it can, and otherwise ends the run with a clear error — never an
 * uncaught exception from a Bun timer callback with `run` left unsettled.
 */
import { describe, expect, test } from "bun:test";
import { type Clock, MockClock, Scheduler, sleep, withPool, withTimeout } from "../../src/index.ts";

/** What `outcome` settled with: its error, "resolved", or "never settled" after 2 s. */
function settlement(outcome: Promise<unknown>): Promise<Error | string> {
  return Promise.race([
    outcome.then(
      () => "resolved",
      (error: Error) => error,
    ),
    Bun.sleep(2000).then(() => "never settled"),
  ]);
}

describe("bad clocks", () => {
  test("a reading that is not a number fails at construction", () => {
    expect(() => new Scheduler({ clock: { now: () => "10" } as unknown as Clock })).toThrow(
      new TypeError(
        `the scheduler's clock.now() must return a finite number of milliseconds, got "10"`,
      ),
    );
    expect(() => new Scheduler({ clock: { now: () => Number.NaN } })).toThrow(TypeError);
    expect(() => new Scheduler({ clock: { now: () => Number.POSITIVE_INFINITY } })).toThrow(
      TypeError,
    );
  });

  test("a clock that throws at construction throws from the constructor", () => {
    const clock = {
      now(): number {
        throw new Error("no time today");
      },
    };
    expect(() => new Scheduler({ clock })).toThrow("no time today");
  });

  test("a reading that goes bad during the run: the sleep rejects with a TypeError", async () => {
    let reading: unknown = 0;
    const clock = { now: () => reading as number };
    const outcome = new Scheduler({ clock, handleSignals: false }).run(async () => {
      reading = "10";
      await sleep(1);
    });
    await expect(outcome).rejects.toThrow(
      `the scheduler's clock.now() must return a finite number of milliseconds, got "10"`,
    );
  });

  test("a reading lower than an earlier one: the sleep rejects with a RangeError naming both", async () => {
    let reading = 100;
    const clock = { now: () => reading };
    const outcome = new Scheduler({ clock, handleSignals: false }).run(async () => {
      reading = 99;
      await sleep(5);
    });
    const settled = await settlement(outcome);
    expect(settled).toEqual(
      new RangeError(
        "the scheduler's clock went backwards: clock.now() returned 99 after 100 (a Clock must never go backwards)",
      ),
    );
  });

  test("a clock that goes backwards while every task sleeps ends the run, not hangs", async () => {
    const reading = 1000;
    let backwards = false;
    // Forwards in real time until the switch, then back to 0.
    const clock = { now: () => (backwards ? 0 : reading + performance.now()) };
    setTimeout(() => {
      backwards = true;
    }, 5);
    const outcome = new Scheduler({ clock, handleSignals: false }).run(() => sleep(30));
    const settled = await settlement(outcome);
    expect(settled).toBeInstanceOf(RangeError);
    expect((settled as Error).message).toMatch(
      /clock went backwards: clock\.now\(\) returned 0 after \d/,
    );
  });

  test("a clock that throws inside the loop's timer callback ends the run with its error", async () => {
    let broken = false;
    const clock = {
      now(): number {
        if (broken) throw new RangeError("the clock broke");
        return performance.now();
      },
    };
    // The clock breaks while every task sleeps: the next reading is the Bun timer's own.
    setTimeout(() => {
      broken = true;
    }, 5);
    let finallyRan = false;
    const outcome = new Scheduler({ clock, handleSignals: false }).run(() =>
      withPool(async (pool) => {
        pool.spawn(async function sleeper() {
          try {
            await sleep(30);
          } finally {
            finallyRan = true;
          }
        });
        await sleep(30);
      }),
    );
    const settled = await settlement(outcome);
    expect(settled).toBeInstanceOf(RangeError);
    expect((settled as Error).message).toBe("the clock broke");
    // The tree was cancelled and unwound, not abandoned.
    expect(finallyRan).toBe(true);
  });

  test("a deadline's clock reading that throws rejects the call, leaving the loop usable", async () => {
    let broken = false;
    const clock = {
      now(): number {
        if (broken) throw new Error("flaky clock");
        return performance.now();
      },
    };
    const value = await new Scheduler({ clock, handleSignals: false }).run(async () => {
      broken = true;
      const caught = await withTimeout(10, () => 1).catch((error: Error) => error.message);
      broken = false;
      return [caught, await withTimeout(10, () => 2)];
    });
    expect(value).toEqual(["flaky clock", 2]);
  });
});

describe("MockClock rejects times where time would stop moving", () => {
  test.each([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, -(2 ** 53), Number.NaN])(
    "start: %p is a RangeError naming start",
    (start) => {
      expect(() => new MockClock({ start })).toThrow(RangeError);
      expect(() => new MockClock({ start })).toThrow("new MockClock({ start })");
    },
  );

  test("start: a string is a TypeError", () => {
    expect(() => new MockClock({ start: "5" as unknown as number })).toThrow(
      new TypeError('new MockClock({ start }) must be a number of milliseconds, got "5"'),
    );
  });

  test("start: 2**52 and -(2**52) are the limits", () => {
    expect(new MockClock({ start: 2 ** 52 }).now()).toBe(2 ** 52);
    expect(new MockClock({ start: -(2 ** 52) }).now()).toBe(-(2 ** 52));
  });

  test("jump(Infinity) and a jump past 2**52 are RangeErrors, and time does not move", () => {
    const clock = new MockClock({ start: 100 });
    expect(() => clock.jump(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => clock.jump(2 ** 52)).toThrow("MockClock.jump(ms)");
    expect(clock.now()).toBe(100);
    clock.jump(5);
    expect(clock.now()).toBe(105);
  });
});
