/**
 * Clocks. The scheduler reads time only through a `Clock`, so a test can swap in
 * `MockClock` and every sleep, deadline and `clock()` follows virtual time instead.
 */
import { checkBoolean, checkDuration, checkInstant, checkOptions } from "./arguments.ts";

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
    checkOptions("new MockClock(options)", options, "{ autojump: true }");
    this.autojump = checkBoolean("new MockClock({ autojump })", options.autojump ?? false);
    this.#now = checkInstant("new MockClock({ start })", options.start ?? 0);
  }

  now(): number {
    return this.#now;
  }

  /** Move virtual time forward by `ms`; timers that become due fire. */
  jump(ms: number): void {
    checkDuration("MockClock.jump(ms)", ms);
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
