/**
 * The ways to start a loop: `run(main)`, and `Scheduler` for a loop with options (a debugger,
 * a mock clock) or driven by hand (`start` + `tick`). `Scheduler` is a facade over the loop
 * (`Loop` in scheduler.ts), whose machinery users never see.
 */
import type { Clock } from "../clock.ts";
import { Loop, type SchedulerOptions } from "./scheduler.ts";
import type { Task } from "./task.ts";

/**
 * Starts a scheduler and runs `main(...args)` as the root task. Resolves with its value or
 * rejects with its error, unchanged. While it runs, SIGINT cancels the whole tree and `run`
 * rejects with `KeyboardInterrupt` (a second SIGINT exits at once). Calling `run` inside a
 * running loop is a `GiambioError`; after it finishes it can be called again.
 */
export function run<A extends unknown[], T>(
  main: (...args: A) => T | PromiseLike<T>,
  ...args: A
): Promise<Awaited<T>> {
  return new Loop().run(main, ...args);
}

/** A loop with options: `new Scheduler({ debugger, clock, handleSignals })`. */
export class Scheduler {
  readonly #loop: Loop;

  constructor(options?: SchedulerOptions) {
    this.#loop = new Loop(options);
  }

  /** The clock this scheduler reads time from. */
  get clock(): Clock {
    return this.#loop.clock;
  }

  /** Whether SIGINT cancels the tree while a run is active. */
  get handleSignals(): boolean {
    return this.#loop.handleSignals;
  }

  /** Runs `main(...args)` as the root task; resolves with its value, rejects with its error. */
  run<A extends unknown[], T>(
    main: (...args: A) => T | PromiseLike<T>,
    ...args: A
  ): Promise<Awaited<T>> {
    return this.#loop.run(main, ...args);
  }

  /**
   * Manual mode: creates the root task but runs nothing until `tick()`. The returned task
   * reports the outcome (`state`, `result`, `error`, `join()`).
   */
  start<A extends unknown[], T>(
    main: (...args: A) => T | PromiseLike<T>,
    ...args: A
  ): Task<Awaited<T>> {
    return this.#loop.start(main, ...args);
  }

  /**
   * Manual mode: one iteration. Fires due timers; if nothing is ready, first waits for the
   * next timer or I/O wake-up (with an autojumping `MockClock`, jumps instead); then runs each
   * ready task to its next suspension. Resolves `true` while the root task is still running.
   */
  tick(): Promise<boolean> {
    return this.#loop.tick();
  }
}
