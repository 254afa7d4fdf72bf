import { Scheduler } from "./scheduler.ts";

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
  return new Scheduler().run(main, ...args);
}
