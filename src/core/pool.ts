/**
 * Pools: structured concurrency (trio's nursery). A pool is a cancel scope plus the set of
 * tasks spawned into it; `withPool` runs its body in the calling task and returns only when
 * the body and every child have finished, so no task outlives its pool.
 *
 * Errors: the first failure cancels everything else in the pool; the pool waits for all of
 * it, then rethrows. `CancelledError`s the pool caused itself are absorbed; the ones caused
 * by an outer scope travel up to it. One error is rethrown unchanged, several as an
 * `ErrorGroup` in the order they happened.
 */
import { checkDuration, checkFunction, checkOptions, functionName } from "../arguments.ts";
import { CancelledError, describe, ErrorGroup, GiambioError, TooSlowError } from "../errors.ts";
import { type CancelScope, Deadline, PoolScope } from "./cancel-scope.ts";
import { currentTaskInternal } from "./context.ts";
import { type Blocker, park, wake } from "./park.ts";
import { type Started, startIn } from "./start.ts";
import { TASK_NAME, type Task, TaskInternal, type TaskNamer } from "./task.ts";
import { NEVER_MS } from "./timers.ts";

export interface PoolOptions {
  /** A deadline in ms: at it everything in the pool is cancelled and it rejects with `TooSlowError`. */
  timeout?: number;
}

/** The arguments of a task spawned with none; never written to. */
const NO_ARGUMENTS: unknown[] = [];

/** What a pool does when its deadline fired: reject (`withTimeout`) or resolve undefined (`skipAfter`). */
export type OnTimeout = "throw" | "skip";

/** A pool as its users see it: what `withPool`, `withTimeout` and `skipAfter` give their body. */
export interface Pool {
  /**
   * Starts `fn(...args)` as a child task and returns it. The child runs to its first
   * suspension before `spawn` returns. Its name is `fn.name`, or `task-<id>`.
   */
  spawn<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Task<Awaited<R>>;
  /** `spawn` with an explicit task name (shown by the debugger and in deadlock reports). */
  spawnNamed<A extends unknown[], R>(
    name: string,
    fn: (...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Task<Awaited<R>>;
  /**
   * Starts `fn(started, ...args)` as a child and resolves with the value it passes to
   * `started(value)` once it is ready (trio's `nursery.start`). A child that fails or returns
   * before calling `started` rejects `start` (and does not fail the pool); cancelling the
   * caller while it waits cancels the child too. A cancellation point.
   */
  start<A extends unknown[], V = void>(
    fn: (started: Started<V>, ...args: A) => unknown,
    ...args: A
  ): Promise<V>;
  /**
   * Cancels the body and every child. Returns at once. Level-triggered: every later
   * checkpoint inside the pool raises `CancelledError` until the pool exits.
   */
  cancel(): void;
  /** The children that are still running. */
  readonly tasks: Task[];
  /** The pool's deadline fired. */
  readonly timedOut: boolean;
  /** The pool was cancelled (by `cancel()`, its deadline, or a failing child). */
  readonly cancelled: boolean;
}

/**
 * @internal What a pool does with each child's outcome before the child ends, in the child's
 * task: `serve` applies `onError` and closes the connection there, so that a connection
 * needs no frame, promise or reaction of its own for its end. Called with the name the
 * child was spawned with (`spawnNamedBy`'s namer) and how its function settled. Returns
 * undefined (the child ends now, with the value undefined) or a promise whose outcome
 * becomes the child's; a throw fails the child.
 */
export type ChildEpilogue = (
  name: string | TaskNamer,
  value: unknown,
  error: unknown,
  failed: boolean,
) => Promise<unknown> | undefined;

/** The pool behind the `Pool` interface: its scope, children, errors and deadline. */
export class PoolInternal implements Pool, Blocker {
  /** @internal */
  readonly scope: PoolScope;
  /** Children still running (enumerated through the scope tree when asked, see `tasks`). */
  #live = 0;
  readonly #errors: unknown[] = [];
  readonly #timeout: number;
  #deadline: Deadline | null = null;
  #finished = false;
  #waitingForChildren = false;
  readonly external = false;
  readonly cancellable = false;
  /** @internal See `ChildEpilogue`; set by the owner of the pool before its first spawn. */
  childEpilogue: ChildEpilogue | null = null;

  /** @internal Use `withPool`. */
  constructor(owner: TaskInternal, timeout: number) {
    // A timeout of 2**52 ms or more never fires: no deadline at all, as for Infinity. The
    // clock is read before the scope is linked, so a failing clock leaves nothing behind.
    const deadline = timeout < NEVER_MS ? owner.scheduler.now() + timeout : null;
    this.scope = new PoolScope(owner.scope, owner, this, owner.scheduler);
    this.#timeout = timeout;
    if (deadline !== null) {
      this.#deadline = new Deadline(this.scope, deadline);
      owner.scheduler.addTimer(this.#deadline);
    }
  }

  /**
   * Starts `fn(...args)` as a child task and returns it. The child runs to its first
   * suspension before `spawn` returns. Its name is `fn.name`, or `task-<id>`.
   */
  spawn<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Task<Awaited<R>>;
  spawn(fn: (...args: unknown[]) => unknown): Task<unknown> {
    checkFunction("pool.spawn(fn)", fn);
    // Most spawns pass no arguments, and a rest parameter would allocate an empty array for
    // each of them (~10% of a trivial spawn).
    // biome-ignore lint/complexity/noArguments: see above
    const args = arguments.length === 1 ? NO_ARGUMENTS : Array.prototype.slice.call(arguments, 1);
    return this.#spawn(functionName(fn), fn, args);
  }

  /** `spawn` with an explicit task name (shown by the debugger and in deadlock reports). */
  spawnNamed<A extends unknown[], R>(
    name: string,
    fn: (...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Task<Awaited<R>> {
    if (typeof name !== "string") {
      throw new TypeError(`pool.spawnNamed(name) must be a string, got ${describe(name)}`);
    }
    checkFunction("pool.spawnNamed(name, fn)", fn);
    return this.#spawn(name, fn, args);
  }

  /** @internal `spawnNamed` with a name made only if read (see `TaskNamer`); unchecked. */
  spawnNamedBy<A extends unknown[], R>(
    namer: TaskNamer,
    fn: (...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Task<Awaited<R>> {
    return this.#spawn(namer, fn, args);
  }

  #spawn<A extends unknown[], R>(
    name: string | TaskNamer,
    fn: (...args: A) => R | PromiseLike<R>,
    args: A,
  ): Task<Awaited<R>> {
    if (this.#finished) {
      const shown = typeof name === "string" ? name : name[TASK_NAME]();
      throw new GiambioError(
        `cannot spawn ${shown ? `'${shown}'` : "a task"} into a pool that has already finished`,
      );
    }
    const scheduler = this.scope.scheduler;
    const task = new TaskInternal(scheduler, name, this.scope);
    this.#live++;
    scheduler.spawn(task, fn as (...args: never[]) => unknown, args);
    return task as Task<Awaited<R>>;
  }

  /** See `Pool.start` and start.ts. */
  start<A extends unknown[], V = void>(
    fn: (started: Started<V>, ...args: A) => unknown,
    ...args: A
  ): Promise<V> {
    return startIn(this, fn, args);
  }

  /**
   * Cancels the body and every child. Returns at once. Level-triggered: every later
   * checkpoint inside the pool raises `CancelledError` until the pool exits.
   */
  cancel(): void {
    this.scope.cancel();
  }

  /** The children that are still running. */
  get tasks(): Task[] {
    const tasks: TaskInternal[] = [];
    this.scope.forEachChild((child) => {
      const task = child.owner;
      if (task === child && task.pool === this) tasks.push(task);
    });
    return tasks.reverse();
  }

  /** The pool's deadline fired. */
  get timedOut(): boolean {
    return this.scope.timedOut;
  }

  /** The pool was cancelled (by `cancel()`, its deadline, or a failing child). */
  get cancelled(): boolean {
    return this.scope.cancelReason !== null;
  }

  /** @internal A child's function has settled. */
  childFinished(task: TaskInternal): void {
    this.#live--;
    // A task cancelled on its own (task.cancel()) ending with CancelledError is no error.
    if (task.state === "failed" || (task.state === "cancelled" && task.cancelReason === null)) {
      this.fail(task.error);
    }
    if (this.#live === 0 && this.#waitingForChildren) wake(this.scope.owner);
  }

  /** @internal Records an error of the body or a child; a real error cancels the pool. */
  fail(error: unknown): void {
    if (!this.#errors.includes(error)) this.#errors.push(error);
    if (!(error instanceof CancelledError)) this.scope.cancelWith({ kind: "failure", error });
  }

  /** @internal Waits for the children, leaves the scope and settles the pool's outcome. */
  async exit<T>(value: T, onTimeout: OnTimeout): Promise<T | undefined> {
    const owner = this.scope.owner;
    if (this.#live > 0) {
      this.#waitingForChildren = true;
      await park(owner, this);
      this.#waitingForChildren = false;
    }
    this.#finished = true;
    if (owner.scope !== this.scope) {
      // The body returned while a scope it opened is still open (an un-awaited withPool).
      const error = new GiambioError(
        "a pool's body returned inside a pool or scope it never left: await every withPool(), withTimeout(), skipAfter() and shield()",
      );
      owner.scope.cancelWith({ kind: "failure", error });
      this.fail(error);
    }
    owner.scope = this.scope.parent as CancelScope;
    this.scope.detach();
    if (this.#deadline !== null) owner.scheduler.removeTimer(this.#deadline);
    return this.#outcome(value, onTimeout);
  }

  #outcome<T>(value: T, onTimeout: OnTimeout): T | undefined {
    const errors = this.#errors;
    const failures = errors.filter((e) => !(e instanceof CancelledError));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new ErrorGroup(failures);
    if (errors.length === 0) return value;
    // Only CancelledErrors. If this pool caused them they are absorbed here; otherwise they
    // belong to an outer scope and travel on to it.
    if (this.scope.cancelReason === null) throw errors[0];
    // A timeout is reported only when the deadline's cancellation actually cut something short
    // (trio's `cancelled_caught`): a body whose wait completed just before the deadline keeps
    // its value, so "timed out" never means "maybe it happened anyway".
    if (!this.scope.timedOut) return value;
    if (onTimeout === "skip") return undefined;
    throw new TooSlowError(this.#timeout);
  }

  /** @internal Blocker: the body waits for its children; not cancellable. */
  abortWait(): void {}

  /** @internal */
  describeWait(): string {
    const names = this.tasks.map((task) => `'${task.name}'`).join(", ");
    return `its pool's children (${names})`;
  }
}

/**
 * Runs `body(pool)` in the calling task with a new pool and resolves with the body's value
 * once the body and every child have finished. If the pool is cancelled (`pool.cancel()`)
 * before the body returns, it resolves `undefined`. `options.timeout` makes it a `withTimeout`.
 */
export function withPool<T>(
  body: (pool: Pool) => T | PromiseLike<T>,
  options?: PoolOptions,
): Promise<T> {
  try {
    checkFunction("withPool(body)", body);
    const timeout =
      options === undefined
        ? undefined
        : checkOptions("withPool(body, options)", options, ["timeout"], "{ timeout: ms }")[
            "timeout"
          ];
    const ms =
      timeout === undefined
        ? Number.POSITIVE_INFINITY
        : checkDuration("withPool({ timeout })", timeout);
    return runPool(body, ms, "throw") as Promise<T>;
  } catch (error) {
    return Promise.reject(error);
  }
}

/** @internal The body of `withPool`, `withTimeout` and `skipAfter`. */
export async function runPool<T>(
  body: (pool: Pool) => T | PromiseLike<T>,
  timeout: number,
  onTimeout: OnTimeout,
): Promise<T | undefined> {
  const task = currentTaskInternal();
  const pool = new PoolInternal(task, timeout);
  task.scope = pool.scope;
  let value: T | undefined;
  try {
    value = await body(pool);
  } catch (error) {
    pool.fail(error);
  }
  return pool.exit(value, onTimeout);
}
