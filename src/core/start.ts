/**
 * `pool.start(fn, ...args)` (trio's `nursery.start`): start a child and wait until it says it
 * is ready. The child gets a `started(value)` function as its first argument; `start`
 * resolves with that value, so a server started in the background hands its bound address
 * to whoever started it, and the caller goes on only once the server is listening.
 *
 * Before `started` is called the child belongs to its starter as much as to the pool (trio
 * runs it under the starter's scope): its failure rejects `start` instead of failing the
 * pool, returning without calling `started` is an error of `start`, and cancelling the
 * starter cancels the child. After `started`, the child is an ordinary member of the pool.
 */
import { checkFunction, functionName } from "../arguments.ts";
import { CancelledError, GiambioError } from "../errors.ts";
import { currentTaskInternal } from "./context.ts";
import { type Blocker, park, refuseWait, wake, wakeWithError } from "./park.ts";
import type { PoolInternal } from "./pool.ts";
import type { Task, TaskInternal } from "./task.ts";

/** What a child started by `pool.start` calls once it is ready; `value` resolves `start`. */
export type Started<V = void> = (value: V) => void;

export function startIn<A extends unknown[], V>(
  pool: PoolInternal,
  fn: (started: Started<V>, ...args: A) => unknown,
  args: A,
): Promise<V> {
  try {
    checkFunction("pool.start(fn)", fn);
    const starter = currentTaskInternal();
    const refused = refuseWait(starter);
    if (refused !== null) return refused;
    const start = new Start<V>(starter);
    const child = async (...childArgs: A): Promise<unknown> => {
      let value: unknown;
      try {
        value = await fn(start.started, ...childArgs);
      } catch (error) {
        if (start.state !== "waiting") throw error;
        start.fail(
          error instanceof CancelledError
            ? new GiambioError(
                `pool.start(): task '${start.name()}' was cancelled before it called started()`,
                { cause: error },
              )
            : error,
        );
        return undefined;
      }
      if (start.state === "waiting") {
        start.fail(
          new GiambioError(
            `pool.start(): task '${start.name()}' returned without calling started(); call started(value) once it is ready`,
          ),
        );
      }
      return value;
    };
    start.task = pool.spawnNamed(functionName(fn), child, ...args) as TaskInternal;
    return start.outcome();
  } catch (error) {
    return Promise.reject(error);
  }
}

type StartState = "waiting" | "started" | "failed" | "abandoned";

/** One `pool.start` in progress: the starter's blocker, and the child's `started` function. */
class Start<V> implements Blocker {
  readonly external = false;
  readonly cancellable = true;
  state: StartState = "waiting";
  task: TaskInternal | null = null;
  /** Whether the starter is parked yet (the child may call `started` inside `spawn`). */
  #parked = false;
  #value: unknown;

  constructor(readonly starter: TaskInternal) {}

  readonly started: Started<V> = (value: V) => {
    if (this.state === "started") {
      throw new GiambioError(`started() was called twice by task '${this.name()}'`);
    }
    if (this.state !== "waiting") return; // the starter gave up (cancelled): nobody waits
    this.state = "started";
    this.#value = value;
    if (this.#parked) wake(this.starter, value);
  };

  fail(error: unknown): void {
    this.state = "failed";
    this.#value = error;
    if (this.#parked) wakeWithError(this.starter, error);
  }

  /** Parks the starter unless the child already settled the start inside `spawn`. */
  outcome(): Promise<V> {
    if (this.state === "started") return Promise.resolve(this.#value as V);
    if (this.state === "failed") return Promise.reject(this.#value);
    this.#parked = true;
    return park<V>(this.starter, this);
  }

  name(): string {
    return (this.task as Task | null)?.name ?? "(starting)";
  }

  /** The starter was cancelled while waiting: the child, not yet started, goes with it. */
  abortWait(): void {
    this.state = "abandoned";
    this.task?.cancel();
  }

  describeWait(): string {
    return `pool.start() of task '${this.name()}' (until it calls started())`;
  }
}
