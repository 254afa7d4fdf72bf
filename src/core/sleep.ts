/**
 * Sleeps and checkpoints, and the scheduler's clock. All durations are milliseconds.
 */
import { checkDuration, checkInstant } from "../arguments.ts";
import { currentTaskInternal } from "./context.ts";
import { type Blocker, park } from "./park.ts";
import { NEVER_MS } from "./timers.ts";

/** The running scheduler's clock, in ms (monotonic; virtual under `MockClock`). */
export function clock(): number {
  return currentTaskInternal().scheduler.now();
}

/**
 * Sleeps for `ms`. A cancellation point. `sleep(0)` is a checkpoint: it lets every other
 * ready task run first. Negative or NaN → `RangeError`. `Infinity`, or anything from 2**52 ms
 * on, sleeps until cancelled.
 */
export function sleep(ms: number): Promise<void> {
  try {
    const task = currentTaskInternal();
    checkDuration("sleep(ms)", ms);
    const scheduler = task.scheduler;
    if (ms === 0) return scheduler.checkpoint(task);
    if (ms >= NEVER_MS) return park(task, forever);
    return scheduler.sleepUntil(task, scheduler.now() + ms, ms);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Sleeps until `clock()` reaches `deadline`; a past deadline is a checkpoint. */
export function sleepUntil(deadline: number): Promise<void> {
  try {
    const task = currentTaskInternal();
    checkInstant("sleepUntil(deadline)", deadline);
    const scheduler = task.scheduler;
    const now = scheduler.now();
    if (deadline <= now) return scheduler.checkpoint(task);
    if (deadline - now >= NEVER_MS) return park(task, forever);
    return scheduler.sleepUntil(task, deadline, deadline - now);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Sleeps until cancelled. */
export function sleepForever(): Promise<never> {
  try {
    return park(currentTaskInternal(), forever);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `sleep(0)`: a cancellation point that lets every other ready task run first. */
export function checkpoint(): Promise<void> {
  try {
    const task = currentTaskInternal();
    return task.scheduler.checkpoint(task);
  } catch (error) {
    return Promise.reject(error);
  }
}

const forever: Blocker = {
  external: false,
  cancellable: true,
  abortWait() {},
  describeWait: () => "sleepForever()",
};
