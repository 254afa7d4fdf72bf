/**
 * The loop. It owns a ready queue, one timer heap, the parking and waking of tasks, and the
 * delivery of cancellation. Tasks are plain async functions: a parked task awaits a promise
 * the loop made, and the loop resumes it by settling that promise.
 *
 * ## Iterations and steps
 * An iteration takes the tasks that are ready *now* as its batch and resumes them one at a
 * time, in FIFO order: the next task is resumed only when the previous one has parked again
 * or finished (its *step* has ended). Tasks that become ready during an iteration wait for
 * the next one, so a task looping on `checkpoint()` lets every other ready task run once per
 * lap (trio's batch scheduling).
 *
 * Iterations follow each other on the microtask queue, which is what makes a task switch
 * cost about as much as a raw promise resolution. To keep timers and I/O flowing, the loop
 * yields to Bun's event loop (one `setImmediate`, "the turn") once an iteration ends with
 * `STEPS_PER_TURN` steps run since the last yield, and whenever it runs out of ready tasks it simply returns: Bun callbacks (socket
 * data, our single timer) wake tasks and start the next iteration synchronously.
 *
 * ## Steps that never end
 * A task may await a promise the loop does not know about (`await fetch(...)` without
 * `until`). Its step then does not end when the microtask queue drains. The turn is armed
 * whenever other work is queued behind a step; when it fires with a step still open, that
 * task is left to run on its own (it still counts as running) and the batch goes on.
 *
 * ## Idle, autojump and deadlock
 * When nothing is ready and nothing is running, the loop checks whether anything could
 * still wake a task: a timer, an external wait (I/O, `until`). If not, every task waits on
 * another task: a deadlock, reported by cancelling the tree and rejecting `run` with a
 * `GiambioError` naming each blocked task. With an autojumping `MockClock`, "only timers
 * left" jumps virtual time to the next deadline instead. Both checks run in the turn, after
 * the microtask queue has drained, so code still on its way to a wake-up is never misjudged.
 *
 * ## Manual mode
 * `start()` + `tick()` (giambio's `loop=False`) drive the same loop one iteration per call
 * instead of letting it run on by itself. Search for `#manual` to see its special cases:
 * - a wake-up while idle resolves the waiting `tick()` instead of starting an iteration
 *   (`#kickIfIdle`);
 * - the end of an iteration resolves the `tick()` in progress instead of going on or idling
 *   (`#endIteration`);
 * - the turn never starts an iteration, an autojump or a deadlock check (`#onTurn`): `tick()`
 *   does those itself, before waiting;
 * - the run's outcome is read from the root task, so its promise is never left unhandled
 *   (`start`), and a pending `tick()` resolves when the run ends (`#finishRun`).
 */
import { checkBoolean, checkFunction, checkOptions, hasMethod, isInstance } from "../arguments.ts";
import { type Clock, MockClock, realClock } from "../clock.ts";
import {
  CancelledError,
  describe,
  GiambioError,
  KeyboardInterrupt,
  Terminated,
} from "../errors.ts";
import { type CancelReason, cancelledError, stopError } from "./cancel-reason.ts";
import { type CancelScope, cancelledScope } from "./cancel-scope.ts";
import { maybeCurrentTask, taskContext } from "./context.ts";
import { deadlockError } from "./deadlock.ts";
import { BaseDebugger } from "./debugger.ts";
import { AT_ITERATION_END, type AtIterationEnd } from "./iteration-end.ts";
import type { Blocker } from "./park.ts";
import { shutdownOnSignal } from "./shutdown.ts";
import { SleepTimer } from "./sleep-timer.ts";
import { TaskInternal } from "./task.ts";
import { MAX_TIMER_DELAY, type TimerEntry, TimerHeap } from "./timers.ts";

/**
 * Steps run back to back on the microtask queue before the loop yields to Bun's event loop
 * (checked at the end of an iteration). A yield costs about a microsecond; 256 trivial steps
 * cost tens of microseconds, so I/O and timers wait little and the yield stays cheap.
 */
const STEPS_PER_TURN = 256;

export interface SchedulerOptions {
  /** Instrumentation hooks, see `BaseDebugger`. */
  debugger?: BaseDebugger;
  /** The clock for `clock()`, sleeps and deadlines; `MockClock` for virtual time. */
  clock?: Clock;
  /**
   * Turn SIGINT into cancellation of the whole tree and `KeyboardInterrupt`, and SIGTERM into
   * a graceful shutdown (`requestShutdown`). Default true.
   */
  handleSignals?: boolean;
}

const SCHEDULER_OPTIONS = ["clock", "debugger", "handleSignals"] as const;

type Hook = Exclude<keyof BaseDebugger, "constructor">;

/** What a wait-free loop does next, decided after the microtask queue drained. */
type IdleAction = "wait" | "jump" | "deadlock";

export class Loop {
  /**
   * @internal Cancelled scopes still in the tree (counted by cancel-scope.ts). While there
   * are none, no checkpoint can be cancelled, and it need not walk up its scopes to know.
   */
  cancelledScopes = 0;
  readonly clock: Clock;
  readonly handleSignals: boolean;
  #hooks: BaseDebugger | null;
  readonly #mockClock: MockClock | null;
  /** The highest reading of `clock` so far: a lower one would leave sleeps waiting for ever. */
  #lastReading: number;

  #ready: TaskInternal[] = [];
  #batch: TaskInternal[] = [];
  #batchIndex = 0;
  #stepping: TaskInternal | null = null;
  #iterating = false;
  #stepsSinceTurn = 0;
  /** Counts iterations, so that callers can tell whether two things happen in the same one. */
  #iterationNumber = 0;
  /** Callbacks for the end of the iteration in progress (see iteration-end.ts). */
  #atIterationEnd: AtIterationEnd[] = [];
  #atIterationEndSpare: AtIterationEnd[] = [];
  #turnArmed = false;
  /** While > 0, wake-ups only queue tasks (the loop is collecting several at once). */
  #holdKicks = 0;

  #timers = new TimerHeap();
  #bunTimer: ReturnType<typeof setTimeout> | null = null;
  #bunTimerDeadline = Number.POSITIVE_INFINITY;

  /** Debugger only: the child whose first step runs inside `spawn()` right now. */
  #firstStep: TaskInternal | null = null;
  /** Tasks resumed or started that have neither parked nor finished. */
  #running = 0;
  /** Parked tasks that something outside the loop will wake (I/O, `until`). */
  #externalWaits = 0;
  /** The timeout given to `beforeIo` while the loop waits, null while it runs. */
  #ioTimeout: number | null = null;

  #status: "new" | "running" | "done" = "new";
  #root: TaskInternal | null = null;
  /** The root's function and arguments until its first step starts it. */
  #rootStart: { fn: (...args: never[]) => unknown; args: unknown[] } | null = null;
  #outcome: PromiseWithResolvers<unknown> | null = null;
  #manual = false;
  /** Manual mode: resolves the pending `tick()` when its iteration ends. */
  #tickEnd: (() => void) | null = null;
  /** Manual mode: a `tick()` waiting for something to become ready. */
  #tickWaiter: (() => void) | null = null;
  #detach: (() => void) | null = null;

  constructor(options: SchedulerOptions = {}) {
    checkOptions("new Scheduler(options)", options, SCHEDULER_OPTIONS);
    const { clock = realClock, debugger: hooks } = options;
    if (!hasMethod(clock, "now")) {
      throw new TypeError(
        `new Scheduler({ clock }) must be a Clock (an object with a now() method, e.g. a MockClock), got ${describe(clock)}`,
      );
    }
    if (hooks !== undefined && !isInstance(hooks, BaseDebugger)) {
      throw new TypeError(
        `new Scheduler({ debugger }) must be an instance of a BaseDebugger subclass, got ${describe(hooks)}`,
      );
    }
    this.clock = clock;
    // Read it once now, so a clock that cannot tell the time fails here, not in a timer.
    this.#lastReading = checkReading(clock.now());
    this.#mockClock = isInstance(clock, MockClock) ? (clock as MockClock) : null;
    this.#hooks = hooks ?? null;
    this.handleSignals =
      options.handleSignals === undefined
        ? true
        : checkBoolean("new Scheduler({ handleSignals })", options.handleSignals);
  }

  // ---------------------------------------------------------------- running

  /** See `Scheduler.run` (run.ts), the public facade of these three. */
  run<A extends unknown[], T>(
    main: (...args: A) => T | PromiseLike<T>,
    ...args: A
  ): Promise<Awaited<T>> {
    try {
      this.#begin(main, args, false);
    } catch (error) {
      return Promise.reject(error);
    }
    return (this.#outcome as PromiseWithResolvers<Awaited<T>>).promise;
  }

  /**
   * Manual mode: creates the root task but runs nothing until `tick()`. The returned task
   * reports the outcome (`state`, `result`, `error`, `join()`).
   */
  start<A extends unknown[], T>(
    main: (...args: A) => T | PromiseLike<T>,
    ...args: A
  ): TaskInternal<Awaited<T>> {
    const root = this.#begin(main, args, true);
    // In manual mode the outcome is read from the root task; never leave it unhandled.
    this.#outcome?.promise.catch(() => {});
    return root as TaskInternal<Awaited<T>>;
  }

  /**
   * Manual mode: one iteration. Fires due timers; if nothing is ready, first waits for the
   * next timer or I/O wake-up (with an autojumping `MockClock`, jumps instead); then runs each
   * ready task to its next suspension. Resolves `true` while the root task is still running.
   */
  async tick(): Promise<boolean> {
    if (!this.#manual) throw new GiambioError("tick() needs a scheduler started with start()");
    if (this.#status !== "running") return false;
    if (this.#iterating || this.#tickEnd !== null || this.#tickWaiter !== null) {
      throw new GiambioError("tick() called while the previous tick() is still running");
    }
    this.#fireDueTimers();
    if (this.#ready.length === 0) {
      const action = this.#idleAction();
      if (action === "jump") this.#autojump();
      else if (action === "deadlock") this.#deadlock();
      else if (this.#mockClock === null || this.#externalWaits > 0 || this.#running > 0) {
        this.#armTimer();
        await new Promise<void>((resolve) => {
          this.#tickWaiter = resolve;
        });
        this.#tickWaiter = null;
        this.#fireDueTimers();
      }
    }
    if (this.#ready.length > 0 && this.#status === "running") {
      await new Promise<void>((resolve) => {
        this.#tickEnd = resolve;
        this.#startIteration(false);
      });
    }
    return this.#status === "running";
  }

  #begin(main: (...args: never[]) => unknown, args: unknown[], manual: boolean): TaskInternal {
    checkFunction(manual ? "start(main)" : "run(main)", main);
    const current = maybeCurrentTask();
    if (current !== undefined) {
      throw new GiambioError(
        `${manual ? "start()" : "run()"} cannot be nested: giambio is already running (called from task '${current.name}'); spawn a task in a pool instead`,
      );
    }
    if (this.#status === "running") throw new GiambioError("this Scheduler is already running");
    this.#status = "running";
    this.#manual = manual;
    // A scheduler can run again; nothing of an earlier run (say, one given up on after a
    // deadlock) may leak into this one.
    this.#timers = new TimerHeap();
    this.#running = 0;
    this.#externalWaits = 0;
    this.#stepsSinceTurn = 0;
    this.#outcome = Promise.withResolvers();
    const root = new TaskInternal(this, main.name || "main", null);
    this.#rootStart = { fn: main, args };
    this.#root = root;
    this.#attach();
    if (this.#hooks !== null) {
      this.#emit("onStart");
      this.#emit("onTaskSpawn", root);
    }
    this.#makeReady(root);
    return root;
  }

  /** Hooks into the process (SIGINT) and the mock clock for the duration of the run. */
  #attach(): void {
    const detachClock = this.#mockClock?.onJump(() => this.#onTimeMoved());
    let onSigint: (() => void) | null = null;
    let onSigterm: (() => void) | null = null;
    if (this.handleSignals) {
      onSigint = () => {
        // A second Ctrl+C while the tree unwinds means "now".
        if (this.#root?.cancelReason?.kind === "interrupt") process.exit(130);
        this.stop({ kind: "interrupt", error: new KeyboardInterrupt() });
      };
      process.on("SIGINT", onSigint);
      // SIGTERM: a graceful shutdown (see shutdown.ts); again while the tree unwinds: "now".
      onSigterm = () => {
        if (stopError(this.#root?.cancelReason ?? null) !== null) process.exit(143);
        shutdownOnSignal(this.#root as TaskInternal, () =>
          this.stop({ kind: "shutdown", error: new Terminated() }),
        );
      };
      process.on("SIGTERM", onSigterm);
    }
    this.#detach = () => {
      detachClock?.();
      if (onSigint !== null) process.off("SIGINT", onSigint);
      if (onSigterm !== null) process.off("SIGTERM", onSigterm);
    };
  }

  /**
   * @internal Cancels the whole tree; `run` will reject with `reason.error` (unless the root
   * fails with an error of its own). A no-op if the root is already cancelled.
   */
  stop(reason: CancelReason & { error: Error }): void {
    this.#root?.cancelWith(reason);
  }

  /** The root task has settled (or been given up on): close the step and settle the run. */
  #finishRun(root: TaskInternal): void {
    if (this.#atIterationEnd.length > 0) this.#runIterationEnd();
    if (this.#stepping !== null) {
      const task = this.#stepping;
      this.#stepping = null;
      if (this.#hooks !== null) this.#emit("afterTaskStep", task);
    }
    this.#status = "done";
    this.#iterating = false;
    this.#batch.length = 0;
    this.#batchIndex = 0;
    this.#ready.length = 0;
    this.#detach?.();
    this.#detach = null;
    if (this.#bunTimer !== null) clearTimeout(this.#bunTimer);
    this.#bunTimer = null;
    this.#bunTimerDeadline = Number.POSITIVE_INFINITY;
    if (this.#hooks !== null) this.#emit("onExit");
    // A pending manual tick() ends with the run.
    const tickEnd = this.#tickEnd ?? this.#tickWaiter;
    this.#tickEnd = this.#tickWaiter = null;
    tickEnd?.();
    const outcome = this.#outcome as PromiseWithResolvers<unknown>;
    if (root.state === "finished") outcome.resolve(root.result);
    else outcome.reject(root.error);
  }

  // ---------------------------------------------------------------- tasks

  /** @internal Starts `task` (a new child) now: it runs to its first suspension. */
  spawn(task: TaskInternal, fn: (...args: never[]) => unknown, args: unknown[]): void {
    this.#running++;
    if (this.#hooks === null) {
      this.#startTask(task, fn, args);
      return;
    }
    // The child's first step runs inside spawn(), but steps never nest for the debugger: the
    // open step (the spawner's, or a child's first step spawning again) is closed around it
    // and reopened after, so a profiler that times steps counts each stretch once.
    const outer = this.#firstStep ?? this.#stepping;
    if (outer !== null) this.#emit("afterTaskStep", outer);
    this.#emit("onTaskSpawn", task);
    this.#firstStep = task;
    this.#emit("beforeTaskStep", task);
    try {
      this.#startTask(task, fn, args);
    } finally {
      this.#emit("afterTaskStep", task);
      this.#firstStep = outer === this.#stepping ? null : outer;
      if (outer !== null) this.#emit("beforeTaskStep", outer);
    }
  }

  #startTask(task: TaskInternal, fn: (...args: never[]) => unknown, args: unknown[]): void {
    startingTask = task;
    startingFn = fn as (...args: unknown[]) => unknown;
    startingArgs = args;
    taskContext.run(task, startInTaskContext);
  }

  /**
   * @internal The function of `task` has settled (see `startInTaskContext`). A child of a
   * pool with a `childEpilogue` runs it first, still in its task; the child ends with what
   * the epilogue returns or throws, or, when that is a promise, once it settles.
   */
  taskSettled(task: TaskInternal, value: unknown, error: unknown, failed: boolean): void {
    const epilogue = task.pool?.childEpilogue ?? null;
    if (epilogue === null) {
      this.#finishTask(task, value, error, failed);
      return;
    }
    let next: Promise<unknown> | undefined;
    try {
      next = epilogue(task.givenName, value, error, failed);
    } catch (thrown) {
      this.#finishTask(task, undefined, thrown, true);
      return;
    }
    if (next === undefined) this.#finishTask(task, undefined, undefined, false);
    else next.then(epilogueFulfilled, epilogueRejected);
  }

  /** @internal A child's epilogue promise settled (see `taskSettled`): the child ends. */
  epilogueSettled(task: TaskInternal, value: unknown, error: unknown, failed: boolean): void {
    this.#finishTask(task, value, error, failed);
  }

  #finishTask(task: TaskInternal, value: unknown, error: unknown, failed: boolean): void {
    // A task that ends while registered on a wait it never awaited stopped counting as
    // running when it parked.
    if (task.blocker === null) this.#running--;
    if (task.scope !== task) {
      // The function returned while a scope it opened is still open: a withPool/withTimeout/
      // shield that was not awaited. Its children would outlive the task.
      failed = true;
      error = new GiambioError(
        `task '${task.name}' finished inside a pool or scope it never left: await every withPool(), withTimeout(), skipAfter() and shield()`,
      );
      task.scope.cancelWith({ kind: "failure", error });
    }
    if (task === this.#root && (!failed || error instanceof CancelledError)) {
      // The tree was stopped (SIGINT, shutdown, a deadlock): that is how the run ended
      // (unless main failed with an error of its own, which must not be lost).
      const stop = stopError(task.cancelReason);
      if (stop !== null) {
        failed = true;
        error = stop;
      }
    }
    this.#dropWait(task);
    if (failed) task.recordOutcome(error instanceof CancelledError ? "cancelled" : "failed", error);
    else task.recordOutcome("finished", value);
    task.detach();
    if (this.#hooks !== null) {
      if (failed) this.#emit("onExceptionRaised", task, error);
      if (task.state === "cancelled") this.#emit("afterCancel", task);
      this.#emit("onTaskExit", task);
    }
    task.settle();
    task.pool?.childFinished(task);
    if (task === this.#root) this.#finishRun(task);
    else if (task === this.#stepping) this.#endStep(task);
    // Off-step, a finished task adds no timer; it matters only as maybe the last runner.
    else if (this.#running === 0 && !this.#iterating && this.#status === "running") {
      this.#goIdle();
    }
  }

  // ---------------------------------------------------------------- parking

  /** @internal See `park()` in park.ts. */
  park<T>(task: TaskInternal, blocker: Blocker): Promise<T> {
    if (task.blocker !== null) {
      if (blocker !== task.blocker) blocker.abortWait(task);
      return this.#alreadyWaiting(task);
    }
    if (blocker.cancellable && this.cancelledScopes !== 0) {
      const cancelled = cancelledScope(task.scope);
      if (cancelled !== null) {
        blocker.abortWait(task);
        if (this.#hooks !== null) this.#emit("beforeCancel", task);
        return Promise.reject(cancelledError(task, cancelled));
      }
    }
    return this.parkChecked(task, blocker);
  }

  /**
   * @internal `park()` for a caller that `refuseWait(task)` has just let through, with
   * nothing since that could park or cancel the task: the checks are not made twice.
   */
  parkChecked<T>(task: TaskInternal, blocker: Blocker): Promise<T> {
    task.blocker = blocker;
    if (blocker.external) this.#externalWaits++;
    this.#running--;
    const promise = new Promise<T>(captureResolvers);
    task.resolveWake = capturedResolve;
    task.wakeValue = capturedReject;
    this.#afterPark(task);
    return promise;
  }

  /**
   * @internal `checkpoint()`: a cancellation point that also lets every other ready task run
   * before the caller continues.
   */
  checkpoint(task: TaskInternal): Promise<void> {
    const refused = this.refuseWait(task);
    if (refused !== null) return refused;
    const promise = new Promise<void>(captureResolvers);
    task.resolveWake = capturedResolve;
    this.#running--;
    // Marked as waiting while it sits in the ready queue, so that a second wait started
    // before it resumes (a checkpoint it did not await) is refused instead of corrupting it.
    task.blocker = inReadyQueue;
    task.wakeValue = undefined;
    // Queue the task before ending its step, so the iteration sees it and goes on.
    this.#makeReady(task);
    if (task === this.#stepping) this.#endStep(task);
    return promise;
  }

  /**
   * @internal A rejected promise when `task` cannot start a wait now: it is in a cancelled
   * scope, or it is already parked (a wait it did not await). Call before registering.
   */
  refuseWait(task: TaskInternal): Promise<never> | null {
    return task.blocker !== null ? this.#alreadyWaiting(task) : this.checkCancelled(task);
  }

  #alreadyWaiting(task: TaskInternal): Promise<never> {
    const what = (task.blocker as Blocker).describeWait(task);
    return Promise.reject(
      new GiambioError(
        `task '${task.name}' is already waiting on ${what}; a task waits on one thing at a time (spawn tasks in a pool to wait on several)`,
      ),
    );
  }

  /** @internal A rejected `CancelledError` if `task` is in a cancelled scope, else null. */
  checkCancelled(task: TaskInternal): Promise<never> | null {
    if (this.cancelledScopes === 0) return null;
    const cancelled = cancelledScope(task.scope);
    if (cancelled === null) return null;
    if (this.#hooks !== null) this.#emit("beforeCancel", task);
    return Promise.reject(cancelledError(task, cancelled));
  }

  /** @internal */
  wake(task: TaskInternal, value: unknown): void {
    if (!this.#unpark(task)) return;
    task.wakeValue = value;
    this.#makeReady(task);
  }

  /** @internal */
  wakeWithError(task: TaskInternal, error: unknown): void {
    if (!this.#unpark(task)) return;
    // The resume settles the wait with whatever `resolveWake` holds: the reject function now,
    // which a parked task keeps in `wakeValue` until it is woken.
    task.resolveWake = task.wakeValue as (error: unknown) => void;
    task.wakeValue = error;
    this.#makeReady(task);
  }

  /** @internal Delivers the cancellation of `scope` to `task` if it is parked cancellably. */
  cancelWait(task: TaskInternal, scope: CancelScope): void {
    const blocker = task.blocker;
    if (blocker === null || !blocker.cancellable) return;
    blocker.abortWait(task);
    if (this.#hooks !== null) this.#emit("beforeCancel", task);
    this.wakeWithError(task, cancelledError(task, scope));
  }

  /**
   * A task is done while still registered as waiting (a wait it never awaited): undo the
   * registration, so that nothing wakes it (a lock would hand itself to a finished task) and
   * its slots, which now hold its state and outcome, are never taken for a wake-up.
   */
  #dropWait(task: TaskInternal): void {
    const blocker = task.blocker;
    if (blocker === null) return;
    blocker.abortWait(task);
    this.#unpark(task);
    task.resolveWake = null;
  }

  #unpark(task: TaskInternal): boolean {
    const blocker = task.blocker;
    if (blocker === null) return false;
    task.blocker = null;
    if (blocker.external) this.#externalWaits--;
    return true;
  }

  // ---------------------------------------------------------------- timers

  /** @internal Puts `entry` on the timer heap (its `deadline` must be set). */
  addTimer(entry: TimerEntry): void {
    this.#timers.push(entry);
  }

  /** @internal For tests: what the timer queue holds (see `TimerHeap.stats`). */
  timerStats(): { entries: number; buckets: number; slots: number } {
    return this.#timers.stats();
  }

  /** @internal Takes `entry` off the timer heap if it is there. */
  removeTimer(entry: TimerEntry): void {
    this.#timers.remove(entry);
  }

  /**
   * @internal The clock's reading, checked: a clock that returns something other than a
   * finite number would corrupt every deadline (`"10" + 5`), so it is a `TypeError` here;
   * one lower than an earlier reading (time must never go backwards) is a `RangeError`.
   */
  now(): number {
    const reading = checkReading(this.clock.now());
    if (reading < this.#lastReading) {
      throw new RangeError(
        `the scheduler's clock went backwards: clock.now() returned ${reading} after ${this.#lastReading} (a Clock must never go backwards)`,
      );
    }
    this.#lastReading = reading;
    return reading;
  }

  /**
   * The clock's reading where the loop itself needs it, in Bun's callbacks as well as in
   * steps. If the clock fails, the run is stopped with its error (a timer callback has no
   * caller to throw to) and null is returned: no timer can be trusted any more.
   */
  #readClock(): number | null {
    try {
      return this.now();
    } catch (thrown) {
      this.#stopForClock(thrown instanceof Error ? thrown : new TypeError(describe(thrown)));
      return null;
    }
  }

  /**
   * Stops the run with the clock's `error`, from a microtask: the loop is in the middle of its
   * own bookkeeping here, and the wake-ups of the cancellation must start an iteration the
   * usual way. (A method of its own: a closure in `#readClock` would make JavaScriptCore
   * allocate that method's scope on every reading.)
   */
  #stopForClock(error: Error): void {
    queueMicrotask(() => {
      if (this.#status === "running") this.stop({ kind: "clock", error });
    });
  }

  /** @internal Parks `task` until `deadline` on the scheduler's clock. */
  sleepUntil(task: TaskInternal, deadline: number, requested: number): Promise<void> {
    const refused = this.refuseWait(task);
    if (refused !== null) return refused;
    let timer = task.sleepTimer as SleepTimer | null;
    if (timer === null) {
      timer = new SleepTimer(this, task);
      task.sleepTimer = timer;
    }
    timer.deadline = deadline;
    timer.requested = requested;
    if (this.#hooks !== null) {
      timer.startedAt = this.#readClock() ?? 0;
      this.#emit("beforeSleep", task, requested);
      this.#emit("onTaskSchedule", task, requested);
    }
    this.#timers.push(timer);
    return this.park(task, timer);
  }

  /** @internal A sleep ended (fired or cancelled): tell the debugger how long it lasted. */
  sleepEnded(timer: SleepTimer): void {
    if (this.#hooks !== null) {
      this.#emit(
        "afterSleep",
        timer.task,
        (this.#readClock() ?? timer.startedAt) - timer.startedAt,
      );
    }
  }

  #fireDueTimers(): void {
    if (this.#timers.size === 0) return;
    const now = this.#readClock();
    if (now === null) return;
    this.#holdKicks++;
    try {
      for (let entry = this.#timers.popDue(now); entry; entry = this.#timers.popDue(now)) {
        entry.fire();
      }
    } finally {
      this.#holdKicks--;
    }
  }

  /** Arms the single Bun timer for the earliest deadline (real clock only). */
  #armTimer(): void {
    if (this.#mockClock !== null) return;
    const due = this.#timers.nextDue();
    if (due === Number.POSITIVE_INFINITY) {
      if (this.#bunTimer !== null) {
        clearTimeout(this.#bunTimer);
        this.#bunTimer = null;
        this.#bunTimerDeadline = Number.POSITIVE_INFINITY;
      }
      return;
    }
    if (due >= this.#bunTimerDeadline) return;
    const now = this.#readClock();
    if (now === null) return;
    if (this.#bunTimer !== null) clearTimeout(this.#bunTimer);
    this.#bunTimerDeadline = due;
    // A deadline beyond Bun's limit is reached in several waits: the early wake-up finds
    // nothing due and arms the timer again for the rest.
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, Math.ceil(due - now)));
    this.#bunTimer = setTimeout(this.#onBunTimer, delay);
  }

  readonly #onBunTimer = (): void => {
    this.#bunTimer = null;
    this.#bunTimerDeadline = Number.POSITIVE_INFINITY;
    this.#onTimeMoved();
  };

  /** The Bun timer fired or the mock clock jumped: fire what is due, then run or go idle. */
  #onTimeMoved(): void {
    if (this.#status !== "running") return;
    this.#endIoWait();
    this.#fireDueTimers();
    if (this.#iterating) return;
    if (this.#ready.length > 0) this.#kickIfIdle();
    else this.#goIdle();
  }

  // ---------------------------------------------------------------- the loop

  #makeReady(task: TaskInternal): void {
    this.#ready.push(task);
    if (this.#hooks !== null) this.#emit("onTaskSchedule", task, 0);
    if (this.#iterating) {
      // Work is queued behind the current step: make sure a step that never ends cannot
      // hold it up forever.
      if (!this.#turnArmed) this.#armTurn();
    } else if (this.#holdKicks === 0) {
      this.#kickIfIdle();
    }
  }

  #kickIfIdle(): void {
    if (this.#iterating || this.#ready.length === 0 || this.#status !== "running") return;
    if (this.#manual) this.#tickWaiter?.();
    else this.#startIteration(false);
  }

  #startIteration(fireTimers: boolean): void {
    this.#endIoWait();
    if (fireTimers) this.#fireDueTimers();
    const batch = this.#ready;
    if (batch.length === 0) {
      this.#goIdle();
      return;
    }
    this.#ready = this.#batch;
    this.#batch = batch;
    this.#batchIndex = 0;
    this.#iterating = true;
    this.#iterationNumber++;
    this.#nextStep();
  }

  #nextStep(): void {
    const batch = this.#batch;
    let index = this.#batchIndex;
    // A task queued by a checkpoint it never awaited may have finished since: nothing to resume.
    while (index < batch.length && typeof (batch[index] as TaskInternal).resolveWake === "string") {
      index++;
    }
    if (index >= batch.length) {
      this.#batchIndex = index;
      this.#endIteration();
      return;
    }
    const task = batch[index] as TaskInternal;
    this.#batchIndex = index + 1;
    this.#stepsSinceTurn++;
    this.#stepping = task;
    this.#running++;
    if (this.#hooks !== null) this.#emit("beforeTaskStep", task);
    if ((index + 1 < batch.length || this.#ready.length > 0) && !this.#turnArmed) {
      this.#armTurn();
    }
    this.#resume(task);
  }

  #resume(task: TaskInternal): void {
    if (task === this.#root && this.#rootStart !== null) {
      const { fn, args } = this.#rootStart;
      this.#rootStart = null;
      this.#startTask(task, fn, args);
      return;
    }
    task.blocker = null;
    const resolve = task.resolveWake as (value: unknown) => void;
    task.resolveWake = null;
    const value = task.wakeValue;
    task.wakeValue = undefined;
    resolve(value);
  }

  /**
   * A task parked. If it was the step in progress, the iteration goes on. If it ran outside
   * any step (its first step inside `spawn`, or a task that had awaited a foreign promise)
   * while the loop was idle, the loop looks again at what it waits for: the task may have
   * added a timer, or been the last thing that could wake the others.
   */
  #afterPark(task: TaskInternal): void {
    if (task === this.#stepping) this.#endStep(task);
    else if (!this.#iterating && this.#status === "running") this.#goIdle();
  }

  #endStep(task: TaskInternal): void {
    this.#stepping = null;
    if (this.#hooks !== null) this.#emit("afterTaskStep", task);
    this.#nextStep();
  }

  #runIterationEnd(): void {
    // Two arrays in turn, so that an iteration with deferred work allocates none; what the
    // callbacks defer (nothing, normally) lands in the other one.
    const callbacks = this.#atIterationEnd;
    this.#atIterationEnd = this.#atIterationEndSpare;
    for (let i = 0; i < callbacks.length; i++) (callbacks[i] as AtIterationEnd)[AT_ITERATION_END]();
    callbacks.length = 0;
    this.#atIterationEndSpare = callbacks;
  }

  /** @internal The number of the iteration in progress, or -1 when none is. */
  get iteration(): number {
    return this.#iterating ? this.#iterationNumber : -1;
  }

  /** @internal See `deferToIterationEnd` in iteration-end.ts. */
  deferToIterationEnd(callback: AtIterationEnd): boolean {
    if (!this.#iterating) return false;
    this.#atIterationEnd.push(callback);
    // Work now waits for the iteration to end: a step that never ends (a foreign await)
    // must not hold it up, so the turn comes to release such a step.
    if (!this.#turnArmed) this.#armTurn();
    return true;
  }

  #endIteration(): void {
    // Still "iterating": whatever these wake (a write failing at once) joins the ready queue
    // and runs next iteration.
    if (this.#atIterationEnd.length > 0) this.#runIterationEnd();
    this.#batch.length = 0;
    this.#batchIndex = 0;
    this.#iterating = false;
    if (this.#manual) {
      const end = this.#tickEnd;
      this.#tickEnd = null;
      end?.();
      return;
    }
    if (this.#status !== "running") return;
    if (this.#ready.length === 0) {
      this.#goIdle();
    } else if (this.#stepsSinceTurn < STEPS_PER_TURN) {
      this.#startIteration(false);
    } else {
      // Let Bun poll I/O and run timers; the turn starts the next iteration.
      this.#stepsSinceTurn = 0;
      this.#armTimer();
      this.#waitForIo(0);
      this.#armTurn();
    }
  }

  /** Nothing is ready: hand control to Bun until a timer or a callback wakes a task. */
  #goIdle(): void {
    this.#stepsSinceTurn = 0;
    this.#armTimer();
    if (this.#hooks !== null) {
      this.#waitForIo(this.#timers.nextDue() - (this.#readClock() ?? 0));
    }
    // Only when nothing outside could wake a task does the turn need to look again.
    if (this.#running === 0 && this.#externalWaits === 0 && !this.#turnArmed) {
      if (this.#timers.size === 0 || this.#mockClock?.autojump) this.#armTurn();
    }
  }

  /** The loop has control again after waiting on Bun's event loop. */
  #endIoWait(): void {
    const timeout = this.#ioTimeout;
    if (timeout === null) return;
    this.#ioTimeout = null;
    if (this.#hooks !== null) this.#emit("afterIo", timeout);
  }

  #waitForIo(timeout: number): void {
    if (this.#hooks === null || this.#ioTimeout !== null) return;
    this.#ioTimeout = Math.max(0, timeout);
    this.#emit("beforeIo", this.#ioTimeout);
  }

  #armTurn(): void {
    this.#turnArmed = true;
    setImmediate(this.#onTurn);
  }

  /** Runs after the microtask queue has drained. */
  readonly #onTurn = (): void => {
    this.#turnArmed = false;
    if (this.#status !== "running") return;
    const stalled = this.#stepping;
    if (stalled !== null) {
      // The step awaits a promise the loop does not know about; move on without it.
      this.#endStep(stalled);
      return;
    }
    if (this.#iterating || this.#manual) return;
    this.#endIoWait();
    this.#fireDueTimers();
    if (this.#ready.length > 0) {
      this.#startIteration(false);
      return;
    }
    const action = this.#idleAction();
    if (action === "jump") this.#autojump();
    else if (action === "deadlock") this.#deadlock();
  };

  #idleAction(): IdleAction {
    if (this.#running > 0 || this.#externalWaits > 0 || this.#ready.length > 0) return "wait";
    if (this.#timers.size > 0) return this.#mockClock?.autojump ? "jump" : "wait";
    return "deadlock";
  }

  #autojump(): void {
    const due = this.#timers.nextDue();
    if (due === Number.POSITIVE_INFINITY || this.#mockClock === null) return;
    this.#mockClock.advanceTo(due);
    // What fired may wake nobody (a deadline over running code): then look again.
    this.#onTimeMoved();
  }

  /**
   * Every task is parked on something only another task could release. Cancel the tree so
   * that every `finally` runs, and make `run` reject with the report. If the unwinding itself
   * deadlocks (a shielded wait), give up on the tree and reject now.
   */
  #deadlock(): void {
    const root = this.#root as TaskInternal;
    if (root.cancelReason === null) {
      this.stop({ kind: "deadlock", error: deadlockError(root) });
      return;
    }
    // The tree was already unwinding (stopped, or the root cancelled) and that deadlocked.
    this.#dropWait(root);
    root.recordOutcome("failed", stopError(root.cancelReason) ?? deadlockError(root));
    root.settle();
    this.#finishRun(root);
  }

  // ---------------------------------------------------------------- hooks

  #emit<K extends Hook>(hook: K, ...args: Parameters<BaseDebugger[K]>): void {
    const hooks = this.#hooks;
    if (hooks === null) return;
    try {
      (hooks[hook] as (...args: unknown[]) => void).apply(hooks, args);
    } catch (error) {
      // A broken debugger must never break the program: report once and carry on without it.
      this.#hooks = null;
      console.error(
        `giambio: the debugger's ${hook}() threw; the debugger is now disabled.`,
        error,
      );
    }
  }
}

// The resolvers of the promise a task parks on, taken by one shared executor instead of a
// closure allocated for every park (the switch path is the hottest path of the loop).
let capturedResolve: ((value: unknown) => void) | null = null;
let capturedReject: ((error: unknown) => void) | null = null;

function captureResolvers(resolve: (value: never) => void, reject: (error: unknown) => void) {
  capturedResolve = resolve as (value: unknown) => void;
  capturedReject = reject;
}

// The task a step starts and its function, handed to `startInTaskContext` through module state
// rather than as spread arguments of AsyncLocalStorage.run, which would copy them (~30 ns a
// spawn).
let startingTask: TaskInternal | null = null;
let startingFn: (...args: unknown[]) => unknown = () => {};
let startingArgs: unknown[] = [];

/**
 * Runs inside `taskContext.run(task, ...)`: calls the task's function and hears about its
 * outcome through two shared reactions instead of two closures per task (a spawn allocates
 * less, and an idle task holds less). A reaction runs in the async context it was registered
 * in, so the store tells it which task settled.
 *
 * A child whose function returned without suspending is finished here, before `spawn`
 * returns, as the async function's own promise is already settled: no reaction is made, and
 * the task is garbage at once rather than live until the microtask queue reaches it (100,000
 * trivial spawns: 3.6× `Promise.all` that way, 1.4× this way). The root always settles by
 * a reaction, after its first step has ended.
 */
function startInTaskContext(): void {
  // Read them before calling: the function may spawn tasks synchronously, reusing the slots.
  const task = startingTask as TaskInternal;
  const fn = startingFn;
  const args = startingArgs;
  let result: unknown;
  try {
    result = fn.apply(undefined, args);
  } catch (error) {
    result = Promise.reject(error);
  }
  const promise = result instanceof Promise ? result : Promise.resolve(result);
  if (task.parent !== null && Bun.peek.status(promise) === "fulfilled") {
    task.scheduler.taskSettled(task, Bun.peek(promise), undefined, false);
  } else {
    promise.then(taskFulfilled, taskRejected);
  }
}

function taskFulfilled(value: unknown): void {
  const task = taskContext.getStore() as TaskInternal;
  task.scheduler.taskSettled(task, value, undefined, false);
}

function taskRejected(error: unknown): void {
  const task = taskContext.getStore() as TaskInternal;
  task.scheduler.taskSettled(task, undefined, error, true);
}

function epilogueFulfilled(value: unknown): void {
  const task = taskContext.getStore() as TaskInternal;
  task.scheduler.epilogueSettled(task, value, undefined, false);
}

function epilogueRejected(error: unknown): void {
  const task = taskContext.getStore() as TaskInternal;
  task.scheduler.epilogueSettled(task, undefined, error, true);
}

/** The blocker of a task queued by its own `checkpoint()`: nothing to undo or cancel. */
const inReadyQueue: Blocker = {
  external: false,
  cancellable: false,
  abortWait() {},
  describeWait: () => "checkpoint()",
};

/** A clock reading: a finite number of ms, or a `TypeError` saying what the clock returned. */
function checkReading(reading: unknown): number {
  if (typeof reading === "number" && Number.isFinite(reading)) return reading;
  throw new TypeError(
    `the scheduler's clock.now() must return a finite number of milliseconds, got ${describe(reading)}`,
  );
}
