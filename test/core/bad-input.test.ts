/**
 * Bad input to the core API. Two tables: exact messages for the calls a user gets wrong most,
 * and a fuzz — every argument of every public core call given each hostile value (wrong
 * types, NaN, infinities, huge numbers, a Proxy whose traps throw, a Symbol, a detached
 * buffer view...). Each must fail with a TypeError or RangeError naming the call and the
 * argument (a rejected promise when the call returns one), and the loop must stay usable.
 */
import { describe, expect, test } from "bun:test";
import {
  BaseDebugger,
  type Blocker,
  checkCancelled,
  currentTask,
  ErrorGroup,
  GiambioError,
  MockClock,
  type Pool,
  park,
  refuseWait,
  run,
  Scheduler,
  shield,
  skipAfter,
  sleep,
  sleepUntil,
  until,
  wake,
  wakeWithError,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import {
  bad,
  expectUsable,
  fuzzSlot,
  HOSTILE,
  isDuration,
  isFunction,
  isNumber,
  type Slot,
} from "../support/hostile-values.ts";

const body = async () => {};
const never = () => false;
const absent = (value: unknown) => value === undefined;
const emptyBag = (value: unknown) =>
  value === undefined || (HOSTILE.find(([label]) => label === "{}")?.[1] ?? null) === value;

/** A well-formed blocker, for the park(task) slot. */
const blocker: Blocker = {
  external: false,
  cancellable: true,
  abortWait() {},
  describeWait: () => "nothing",
};

/** The pool the pool-method slots use: the one the fuzz runs in. */
let pool: Pool;

const slots: Slot[] = [
  {
    call: "sleep(v)",
    names: "sleep(ms)",
    attempt: (v) => sleep(bad(v)),
    accepts: isDuration,
    async: true,
  },
  {
    call: "sleepUntil(v)",
    names: "sleepUntil(deadline)",
    attempt: (v) => sleepUntil(bad(v)),
    accepts: isNumber,
    async: true,
  },
  {
    call: "withTimeout(v, body)",
    names: "withTimeout(ms)",
    attempt: (v) => withTimeout(bad(v), body),
    accepts: isDuration,
    async: true,
  },
  {
    call: "withTimeout(10, v)",
    names: "withTimeout(ms, body)",
    attempt: (v) => withTimeout(10, bad(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "skipAfter(v, body)",
    names: "skipAfter(ms)",
    attempt: (v) => skipAfter(bad(v), body),
    accepts: isDuration,
    async: true,
  },
  {
    call: "skipAfter(10, v)",
    names: "skipAfter(ms, body)",
    attempt: (v) => skipAfter(10, bad(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "withPool(v)",
    names: "withPool(body)",
    attempt: (v) => withPool(bad(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "withPool(body, v)",
    names: "withPool(body, options)",
    attempt: (v) => withPool(body, bad(v)),
    accepts: emptyBag,
    async: true,
  },
  {
    call: "withPool(body, { timeout: v })",
    names: "withPool({ timeout })",
    attempt: (v) => withPool(body, { timeout: bad(v) }),
    accepts: (v) => v === undefined || isDuration(v),
    async: true,
  },
  {
    call: "shield(v)",
    names: "shield(body)",
    attempt: (v) => shield(bad(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "until(v)",
    names: "until(promise)",
    attempt: (v) => until(bad<PromiseLike<unknown>>(v)),
    accepts: never,
    async: true,
  },
  {
    call: "pool.spawn(v)",
    names: "pool.spawn(fn)",
    attempt: (v) => pool.spawn(bad(v)),
    accepts: isFunction,
  },
  {
    call: "pool.spawnNamed(v, fn)",
    names: "pool.spawnNamed(name)",
    attempt: (v) => pool.spawnNamed(bad(v), body),
    accepts: (v) => typeof v === "string",
  },
  {
    call: 'pool.spawnNamed("x", v)',
    names: "pool.spawnNamed(name, fn)",
    attempt: (v) => pool.spawnNamed("x", bad(v)),
    accepts: isFunction,
  },
  {
    call: "pool.start(v)",
    names: "pool.start(fn)",
    attempt: (v) => pool.start(bad<() => unknown>(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "new Scheduler(v)",
    names: "new Scheduler(options)",
    attempt: (v) => new Scheduler(bad(v)),
    accepts: emptyBag,
  },
  {
    call: "new Scheduler({ clock: v })",
    names: "new Scheduler({ clock })",
    attempt: (v) => new Scheduler({ clock: bad(v) }),
    accepts: absent,
  },
  {
    call: "new Scheduler({ debugger: v })",
    names: "new Scheduler({ debugger })",
    attempt: (v) => new Scheduler({ debugger: bad(v) }),
    accepts: absent,
  },
  {
    call: "new Scheduler({ handleSignals: v })",
    names: "new Scheduler({ handleSignals })",
    attempt: (v) => new Scheduler({ handleSignals: bad(v) }),
    accepts: absent,
  },
  {
    call: "scheduler.run(v)",
    names: "run(main)",
    attempt: (v) => new Scheduler({ handleSignals: false }).run(bad(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "scheduler.start(v)",
    names: "start(main)",
    attempt: (v) => new Scheduler({ handleSignals: false }).start(bad(v)),
    accepts: isFunction,
  },
  {
    call: "run(v)",
    names: "run(main)",
    attempt: (v) => run(bad(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "new MockClock(v)",
    names: "new MockClock(options)",
    attempt: (v) => new MockClock(bad(v)),
    accepts: emptyBag,
  },
  {
    call: "new MockClock({ autojump: v })",
    names: "new MockClock({ autojump })",
    attempt: (v) => new MockClock({ autojump: bad(v) }),
    accepts: absent,
  },
  {
    call: "new MockClock({ start: v })",
    names: "new MockClock({ start })",
    attempt: (v) => new MockClock({ start: bad(v) }),
    accepts: (v) => v === undefined || (isNumber(v) && Math.abs(v) <= 2 ** 52),
  },
  {
    call: "mockClock.jump(v)",
    names: "MockClock.jump(ms)",
    attempt: (v) => new MockClock().jump(bad(v)),
    accepts: (v) => isDuration(v) && (v as number) <= 2 ** 52,
  },
  {
    call: "park(v, blocker)",
    names: "park(task)",
    attempt: (v) => park(bad(v), blocker),
    accepts: never,
    async: true,
  },
  {
    call: "park(task, v)",
    names: "park(task, blocker)",
    attempt: (v) => park(currentTask(), bad(v)),
    accepts: never,
    async: true,
  },
  { call: "wake(v)", names: "wake(task)", attempt: (v) => wake(bad(v)), accepts: never },
  {
    call: "wakeWithError(v, error)",
    names: "wakeWithError(task)",
    attempt: (v) => wakeWithError(bad(v), new Error("x")),
    accepts: never,
  },
  {
    call: "refuseWait(v)",
    names: "refuseWait(task)",
    attempt: (v) => refuseWait(bad(v)),
    accepts: never,
    async: true,
  },
  {
    call: "checkCancelled(v)",
    names: "checkCancelled(task)",
    attempt: (v) => checkCancelled(bad(v)),
    accepts: never,
    async: true,
  },
  {
    call: "new ErrorGroup(v)",
    names: "new ErrorGroup(errors)",
    attempt: (v) => new ErrorGroup(bad(v)),
    accepts: Array.isArray,
  },
];

describe("bad input: every core call with every hostile value", () => {
  test.each(slots.map((slot) => [slot.call, slot] as const))("%s", (_call, slot) =>
    run(() =>
      withPool(async (fuzzPool) => {
        pool = fuzzPool;
        await fuzzSlot(slot);
      }),
    ),
  );
});

interface Case {
  call: string;
  attempt: () => unknown;
  error: new (...args: never[]) => Error;
  message: string | RegExp;
}

const cases: Case[] = [
  {
    call: 'new Scheduler("fast")',
    attempt: () => new Scheduler(bad("fast")),
    error: TypeError,
    message:
      'new Scheduler(options) must be an object like { clock, debugger, handleSignals }, got "fast"',
  },
  {
    call: "new Scheduler({ clocks }): a misspelt option",
    attempt: () => new Scheduler(bad({ clocks: new MockClock() })),
    error: TypeError,
    message:
      'new Scheduler(options) got an unknown option "clocks"; the accepted ones are clock, debugger, handleSignals',
  },
  {
    call: "new Scheduler({ clock: {} })",
    attempt: () => new Scheduler({ clock: bad({}) }),
    error: TypeError,
    message:
      "new Scheduler({ clock }) must be a Clock (an object with a now() method, e.g. a MockClock), got an object",
  },
  {
    call: "new Scheduler({ debugger }) with a look-alike of BaseDebugger",
    attempt: () => new Scheduler({ debugger: bad(new (class Hooks {})()) }),
    error: TypeError,
    message:
      "new Scheduler({ debugger }) must be an instance of a BaseDebugger subclass, got a Hooks",
  },
  {
    call: "new Scheduler({ debugger: null }): null is not a default",
    attempt: () => new Scheduler({ debugger: bad(null) }),
    error: TypeError,
    message: "new Scheduler({ debugger }) must be an instance of a BaseDebugger subclass, got null",
  },
  {
    call: 'new Scheduler({ handleSignals: "no" })',
    attempt: () => new Scheduler({ handleSignals: bad("no") }),
    error: TypeError,
    message: 'new Scheduler({ handleSignals }) must be true or false, got "no"',
  },
  {
    call: "new Scheduler({ handleSignals: null })",
    attempt: () => new Scheduler({ handleSignals: bad(null) }),
    error: TypeError,
    message: "new Scheduler({ handleSignals }) must be true or false, got null",
  },
  {
    call: "scheduler.start(42)",
    attempt: () => new Scheduler().start(bad(42)),
    error: TypeError,
    message: "start(main) must be a function, got 42",
  },
  {
    call: "scheduler.start(main) inside a running loop",
    attempt: () => new Scheduler().start(body),
    error: GiambioError,
    message: /^start\(\) cannot be nested: giambio is already running \(called from task '/,
  },
  {
    call: "run(main) inside a running loop",
    attempt: () => run(body),
    error: GiambioError,
    message: /^run\(\) cannot be nested/,
  },
  {
    call: 'new MockClock({ start: "5" })',
    attempt: () => new MockClock({ start: bad("5") }),
    error: TypeError,
    message: 'new MockClock({ start }) must be a number of milliseconds, got "5"',
  },
  {
    call: "new MockClock({ start: NaN })",
    attempt: () => new MockClock({ start: Number.NaN }),
    error: RangeError,
    message:
      "new MockClock({ start }) must be a finite time within ±4503599627370496 ms (2**52), got NaN",
  },
  {
    call: "new MockClock({ autojump: 1 })",
    attempt: () => new MockClock({ autojump: bad(1) }),
    error: TypeError,
    message: "new MockClock({ autojump }) must be true or false, got 1",
  },
  {
    call: "new MockClock({ autoJump: true }): a misspelt option",
    attempt: () => new MockClock(bad({ autoJump: true })),
    error: TypeError,
    message:
      'new MockClock(options) got an unknown option "autoJump"; the accepted ones are autojump, start',
  },
  {
    call: 'mockClock.jump("1")',
    attempt: () => new MockClock().jump(bad("1")),
    error: TypeError,
    message: 'MockClock.jump(ms) must be a number of milliseconds, got "1"',
  },
  {
    call: "withPool(body, 100)",
    attempt: () => withPool(body, bad(100)),
    error: TypeError,
    message: "withPool(body, options) must be an object like { timeout: ms }, got 100",
  },
  {
    call: "withPool(body, [100]): an array is no options bag",
    attempt: () => withPool(body, bad([100])),
    error: TypeError,
    message: "withPool(body, options) must be an object like { timeout: ms }, got array(1)",
  },
  {
    call: "withPool(body, { tiemout: 100 }): a misspelt option",
    attempt: () => withPool(body, bad({ tiemout: 100 })),
    error: TypeError,
    message:
      'withPool(body, options) got an unknown option "tiemout"; the accepted ones are timeout',
  },
  {
    call: "withPool(body, { timeout: null })",
    attempt: () => withPool(body, { timeout: bad(null) }),
    error: TypeError,
    message: "withPool({ timeout }) must be a number of milliseconds, got null",
  },
  {
    call: 'withPool(body, { timeout: "5" })',
    attempt: () => withPool(body, { timeout: bad("5") }),
    error: TypeError,
    message: 'withPool({ timeout }) must be a number of milliseconds, got "5"',
  },
  {
    call: 'skipAfter("100", body)',
    attempt: () => skipAfter(bad("100"), body),
    error: TypeError,
    message: 'skipAfter(ms) must be a number of milliseconds, got "100"',
  },
  {
    call: "skipAfter(-1, body)",
    attempt: () => skipAfter(-1, body),
    error: RangeError,
    message: "skipAfter(ms) must be a non-negative number of milliseconds, got -1",
  },
  {
    call: "skipAfter(10, null)",
    attempt: () => skipAfter(10, bad(null)),
    error: TypeError,
    message: "skipAfter(ms, body) must be a function, got null",
  },
  {
    call: "withTimeout(NaN, body)",
    attempt: () => withTimeout(Number.NaN, body),
    error: RangeError,
    message: "withTimeout(ms) must be a non-negative number of milliseconds, got NaN",
  },
  {
    call: "shield(5)",
    attempt: () => shield(bad(5)),
    error: TypeError,
    message: "shield(body) must be a function, got 5",
  },
  {
    call: 'sleepUntil("soon")',
    attempt: () => sleepUntil(bad("soon")),
    error: TypeError,
    message: `sleepUntil(deadline) must be a time in milliseconds on giambio's clock, got "soon"`,
  },
  {
    call: "sleep(undefined)",
    attempt: () => sleep(bad(undefined)),
    error: TypeError,
    message: "sleep(ms) must be a number of milliseconds, got undefined",
  },
  {
    call: "until({})",
    attempt: () => until(bad<PromiseLike<unknown>>({})),
    error: TypeError,
    message: "until(promise) needs a promise or thenable, got an object",
  },
  {
    call: 'new ErrorGroup("abc")',
    attempt: () => new ErrorGroup(bad("abc")),
    error: TypeError,
    message: 'new ErrorGroup(errors) must be an array of errors, got "abc"',
  },
];

describe("bad input: core, exact messages", () => {
  test.each(cases.map((c) => [c.call, c] as const))("%s", (_call, c) =>
    run(async () => {
      let error: unknown;
      try {
        await c.attempt();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(c.error);
      if (typeof c.message === "string") expect((error as Error).message).toBe(c.message);
      else expect((error as Error).message).toMatch(c.message);
      await expectUsable();
    }),
  );

  test("a BaseDebugger subclass and a MockClock are accepted", async () => {
    class Quiet extends BaseDebugger {}
    const clock = new MockClock({ autojump: true, start: 5 });
    expect(await new Scheduler({ debugger: new Quiet(), clock }).run(async () => 1)).toBe(1);
    expect(clock.now()).toBe(5);
  });
});
