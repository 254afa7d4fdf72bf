/**
 * Clocks. The scheduler reads time only through a `Clock`, so a test can swap in
 * `MockClock` and every sleep, deadline and `clock()` follows virtual time instead.
 */
import { checkBoolean, checkDuration, checkOptions } from "./arguments.ts";
import { describe } from "./errors.ts";

/**
 * The largest virtual time a `MockClock` reaches, in ms (about 143,000 years). Beyond 2**52 a
 * double cannot tell one millisecond from the next, so time would stop moving: sleeps would
 * never end.
 */
export const MAX_MOCK_TIME = 2 ** 52;

export interface Clock {
  /** Current time in milliseconds; monotonic. */
  now(): number;
}

/** The real monotonic clock (`performance.now()`). */
export const realClock: Clock = { now: () => performance.now() };

export interface MockClockOptions {
  /**
   * Jump to the next deadline as soon as every task is blocked and nothing but timers could
   * wake one (no I/O wait, no `until` in flight). Default `false`.
   */
  autojump?: boolean;
  /** Virtual time to start at, in ms. Default 0. */
  start?: number;
}

/**
 * Virtual time for tests (trio's `MockClock`). Time stands still until `jump(ms)` moves it,
 * or, with `autojump`, until every task is blocked on timers.
 */
export class MockClock implements Clock {
  readonly autojump: boolean;
  #now: number;
  #listeners = new Set<() => void>();

  constructor(options: MockClockOptions = {}) {
    checkOptions("new MockClock(options)", options, ["autojump", "start"], "{ autojump: true }");
    const { autojump, start } = options;
    this.autojump =
      autojump === undefined ? false : checkBoolean("new MockClock({ autojump })", autojump);
    this.#now = start === undefined ? 0 : checkClockStart(start);
  }

  now(): number {
    return this.#now;
  }

  /** Move virtual time forward by `ms` (finite); timers that become due fire. */
  jump(ms: number): void {
    checkDuration("MockClock.jump(ms)", ms);
    if (!(this.#now + ms <= MAX_MOCK_TIME)) {
      throw new RangeError(
        `MockClock.jump(ms) must keep the clock at or below ${MAX_MOCK_TIME} ms (2**52), got ${ms} at ${this.#now}`,
      );
    }
    this.#now += ms;
    for (const listener of this.#listeners) listener();
  }

  /** Move virtual time forward to `instant` (never backwards). @internal */
  advanceTo(instant: number): void {
    if (instant > this.#now) this.#now = instant;
  }

  /** Call `listener` after every `jump`; returns the unsubscribe function. @internal */
  onJump(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function checkClockStart(start: unknown): number {
  if (typeof start !== "number") {
    throw new TypeError(
      `new MockClock({ start }) must be a number of milliseconds, got ${describe(start)}`,
    );
  }
  if (!(Math.abs(start) <= MAX_MOCK_TIME)) {
    throw new RangeError(
      `new MockClock({ start }) must be a finite time within ±${MAX_MOCK_TIME} ms (2**52), got ${start}`,
    );
  }
  return start;
}
