/**
 * A task: one async function run by the scheduler. Tasks are created only by `run` (the
 * root) and `pool.spawn` (children), so every task has a parent that waits for it.
 *
 * Users see the `Task` interface; the loop works on `TaskInternal`, the one object behind
 * it (a narrow public type over a wide internal one, at no cost: no wrapper per task).
 *
 * A task is also the cancel scope of its own code (it extends `CancelScope`): `cancel()`
 * cancels it alone, and scopes it opens hang below it. Being one object instead of two
 * keeps spawning cheap, which matters when a server spawns a task per connection.
 */
import { CancelledError, GiambioError } from "../errors.ts";
import { CancelScope, type PoolScope } from "./cancel-scope.ts";
import { maybeCurrentTask } from "./context.ts";
import type { Blocker } from "./park.ts";
import type { PoolInternal } from "./pool.ts";
import type { Loop } from "./scheduler.ts";
import type { TimerEntry } from "./timers.ts";

export type TaskState = "running" | "finished" | "failed" | "cancelled";

/**
 * A task as its users see it: what `pool.spawn`, `scheduler.start` and `currentTask()` return.
 * The loop's bookkeeping lives on `TaskInternal`, which is never exported from the package.
 */
export interface Task<T = unknown> {
  /** Unique in the process, increasing in creation order. */
  readonly id: number;
  /** `fn.name`, the name given to `spawnNamed`, or `task-<id>`. */
  readonly name: string;
  /** `"running"` until the function settles; `"cancelled"` when it ended with `CancelledError`. */
  readonly state: TaskState;
  /** The return value, once `state` is `"finished"`. */
  readonly result: T | undefined;
  /** The error the function ended with, once `state` is `"failed"` or `"cancelled"`. */
  readonly error: unknown;
  /** The task has finished, failed or been cancelled. */
  readonly done: boolean;
  /**
   * Cancels this task alone. Returns at once; the task unwinds at its next checkpoint (at once
   * if it is parked) and ends with state `"cancelled"` unless it swallows the cancellation.
   */
  cancel(): void;
  /**
   * Waits for the task to end: resolves with its value, rejects with its error (or the
   * `CancelledError` it ended with). Any task may join any task; a cancellation point.
   * Called outside a running loop it is a plain promise.
   */
  join(): Promise<T>;
  toString(): string;
}

let nextTaskId = 1;

/** The key of `TaskNamer`'s method: a symbol, so that it is no public member of what names a task. */
export const TASK_NAME: unique symbol = Symbol("taskName");

/**
 * @internal What names a task only when its name is read: a connection's task is named after
 * its peer, a string (and two more for its parts) that would otherwise be made and kept for
 * every connection, for a debugger or an error message to read, if ever.
 */
export interface TaskNamer {
  [TASK_NAME](): string;
}

export class TaskInternal<T = unknown> extends CancelScope implements Task<T>, Blocker {
  // Twelve slots with CancelScope's six: the most JSC's 112-byte size class holds (13 to 18
  // take 160 bytes), which is most of an idle task. Hence the slots that serve two purposes,
  // the owner that is the task itself, and the pool and loop reached through the parent scope
  // (the root's loop through `rare`).
  readonly id: number = nextTaskId++;
  /** @internal The name given, "" for none (then `task-<id>`, made when read), or its namer. */
  readonly givenName: string | TaskNamer;
  /**
   * @internal Settles the promise the task is parked on (set by `park`); once the task is
   * done, its final state instead (a done task never parks again).
   */
  resolveWake: ((value: unknown) => void) | null | Exclude<TaskState, "running"> = null;
  /**
   * @internal What the next resume delivers: a value, or an error, in which case
   * `wakeWithError` has put the reject function in `resolveWake`. While the task is parked
   * it holds that reject function; once the task is done, its return value or error.
   */
  wakeValue: unknown = undefined;
  /** @internal What the task is parked on; null while it runs or sits in the ready queue. */
  blocker: Blocker | null = null;
  /** @internal The innermost scope the task's code is in right now (itself, or deeper). */
  scope: CancelScope = this;

  constructor(
    scheduler: Loop,
    name: string | TaskNamer,
    /** The pool's scope for a child; null for the root. */ parentScope: PoolScope | null,
  ) {
    super(parentScope);
    this.givenName = name;
    if (parentScope === null) this.rareFields().loop = scheduler;
  }

  /** `fn.name`, the name given to `spawnNamed`, or `task-<id>`. */
  get name(): string {
    const given = this.givenName;
    if (typeof given !== "string") return given[TASK_NAME]();
    return given === "" ? `task-${this.id}` : given;
  }

  /** @internal The loop the task runs in. */
  get scheduler(): Loop {
    const parent = this.parent as PoolScope | null;
    return parent !== null ? parent.scheduler : (this.rare?.loop as Loop);
  }

  /** @internal The pool the task lives in (null for the root). */
  get pool(): PoolInternal | null {
    const parent = this.parent as PoolScope | null;
    return parent !== null ? parent.pool : null;
  }

  /** @internal A task is the owner of its own scope. */
  get owner(): TaskInternal {
    return this;
  }

  /** `"running"` until the function settles; `"cancelled"` when it ended with `CancelledError`. */
  get state(): TaskState {
    const wake = this.resolveWake;
    return typeof wake === "string" ? wake : "running";
  }

  /** @internal The task's sleep timer, reused across its sleeps (kept in `rare`). */
  get sleepTimer(): TimerEntry | null {
    const rare = this.rare;
    return rare === null ? null : rare.sleepTimer;
  }

  set sleepTimer(timer: TimerEntry | null) {
    this.rareFields().sleepTimer = timer;
  }

  /** @internal Blocker: joiners are woken by another task. */
  get external(): boolean {
    return false;
  }

  /** @internal Blocker: a joiner can be cancelled. */
  get cancellable(): boolean {
    return true;
  }

  /** The return value, once `state` is `"finished"`. */
  get result(): T | undefined {
    return this.state === "finished" ? (this.wakeValue as T) : undefined;
  }

  /** The error the function ended with, once `state` is `"failed"` or `"cancelled"`. */
  get error(): unknown {
    const state = this.state;
    return state === "failed" || state === "cancelled" ? this.wakeValue : undefined;
  }

  /** @internal The function has settled (or the run gave up on it): its state and outcome. */
  recordOutcome(state: Exclude<TaskState, "running">, outcome: unknown): void {
    this.resolveWake = state;
    this.wakeValue = outcome;
  }

  /** The task has finished, failed or been cancelled. */
  get done(): boolean {
    return this.state !== "running";
  }

  /**
   * Cancels this task alone. Returns at once; the task unwinds at its next checkpoint (at once
   * if it is parked) and ends with state `"cancelled"` unless it swallows the cancellation.
   */
  override cancel(): void {
    super.cancel();
  }

  /**
   * Waits for the task to end: resolves with its value, rejects with its error (or the
   * `CancelledError` it ended with). Any task may join any task; a cancellation point.
   * Called outside a running loop it is a plain promise.
   */
  join(): Promise<T> {
    const caller = maybeCurrentTask();
    if (caller === undefined) {
      if (this.state !== "running") return this.#settled();
      const rare = this.rareFields();
      rare.outsideJoin ??= Promise.withResolvers<unknown>();
      return rare.outsideJoin.promise as Promise<T>;
    }
    if (caller === this) {
      return Promise.reject(new GiambioError(`task '${this.name}' cannot join itself`));
    }
    if (this.state !== "running") {
      const cancelled = this.scheduler.checkCancelled(caller);
      return cancelled ?? this.#settled();
    }
    const rare = this.rareFields();
    if (rare.joiners === null) rare.joiners = [caller];
    else rare.joiners.push(caller);
    return this.scheduler.park(caller, this);
  }

  /** @internal Called by the scheduler when the function has settled. */
  settle(): void {
    const rare = this.rare;
    if (rare === null) return;
    const joiners = rare.joiners;
    rare.joiners = null;
    const failed = this.state !== "finished";
    if (joiners !== null) {
      for (const joiner of joiners) {
        if (failed) this.scheduler.wakeWithError(joiner, this.error);
        else this.scheduler.wake(joiner, this.result);
      }
    }
    const outside = rare.outsideJoin;
    if (outside !== null) {
      if (failed) outside.reject(this.error);
      else outside.resolve(this.result);
    }
  }

  /** @internal Blocker: a joiner was cancelled. */
  abortWait(joiner: TaskInternal): void {
    const joiners = this.rare?.joiners ?? null;
    if (joiners === null) return;
    const index = joiners.indexOf(joiner);
    if (index >= 0) joiners.splice(index, 1);
  }

  /** @internal Blocker: what a joiner waits on. */
  describeWait(): string {
    return `join() of task '${this.name}'`;
  }

  override toString(): string {
    return `Task(${this.id} '${this.name}', ${this.state})`;
  }

  #settled(): Promise<T> {
    return this.state === "finished"
      ? Promise.resolve(this.result as T)
      : Promise.reject(this.error ?? new CancelledError(`task '${this.name}' was cancelled`));
  }
}
