/**
 * Graceful shutdown of a run (Go's `Server.Shutdown` and `RegisterOnShutdown`; the SIGTERM,
 * then SIGKILL of Docker and Kubernetes). A request — `requestShutdown()`, or SIGTERM when
 * the scheduler handles signals — is made once per run: every `serve` in the run drains
 * (stops accepting, closes idle connections, lets requests in flight finish within its grace
 * period), tasks in `waitForShutdown()` wake and `shutdownSignal()` aborts, so that code of
 * one's own can finish early too.
 *
 * The state belongs to the run, not to the process: it hangs off the root task, so runs that
 * overlap or follow one another never see each other's request.
 */
import { GiambioError } from "../errors.ts";
import type { CancelScope } from "./cancel-scope.ts";
import { currentTaskInternal as currentTask } from "./context.ts";
import { type Blocker, park, refuseWait, wake } from "./park.ts";
import type { Task as PublicTask, TaskInternal as Task } from "./task.ts";

/** How long a keep-alive timer waits; it only keeps Bun's event loop alive, it never fires usefully. */
const KEEP_ALIVE_MS = 2 ** 30;

class RunShutdown implements Blocker {
  /** A task in `waitForShutdown` can be woken by SIGTERM, which comes from outside. */
  readonly external: boolean;
  readonly cancellable = true;
  requested = false;
  /** What each draining participant (a `serve`) does when the request comes. */
  readonly #participants = new Set<() => void>();
  readonly #waiters: Task[] = [];
  #controller: AbortController | null = null;
  /** While tasks wait for a signal and nothing else may keep Bun's event loop alive. */
  #keepAlive: ReturnType<typeof setInterval> | null = null;

  constructor(root: Task) {
    this.external = root.scheduler.handleSignals;
  }

  /** Something in the run drains on a request: a `serve`, or a task in `waitForShutdown`. */
  get hasParticipants(): boolean {
    return this.#participants.size > 0 || this.#waiters.length > 0;
  }

  request(): void {
    if (this.requested) return;
    this.requested = true;
    this.#controller?.abort(shutdownReason());
    for (const begin of [...this.#participants]) begin();
    for (const task of this.#waiters.splice(0)) wake(task);
    this.#releaseKeepAlive();
  }

  participate(begin: () => void): () => void {
    if (this.requested) {
      begin();
      return noop;
    }
    this.#participants.add(begin);
    return () => this.#participants.delete(begin);
  }

  signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.requested) this.#controller.abort(shutdownReason());
    }
    return this.#controller.signal;
  }

  wait(task: Task): Promise<void> {
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    if (this.requested) return Promise.resolve();
    this.#waiters.push(task);
    if (this.external && this.#keepAlive === null) {
      this.#keepAlive = setInterval(noop, KEEP_ALIVE_MS);
    }
    return park(task, this);
  }

  abortWait(task: Task): void {
    const index = this.#waiters.indexOf(task);
    if (index !== -1) this.#waiters.splice(index, 1);
    if (this.#waiters.length === 0) this.#releaseKeepAlive();
  }

  describeWait(): string {
    return "waitForShutdown()";
  }

  #releaseKeepAlive(): void {
    if (this.#keepAlive === null) return;
    clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }
}

const byRoot = new WeakMap<Task, RunShutdown>();

function noop(): void {}

function shutdownReason(): GiambioError {
  return new GiambioError("a graceful shutdown was requested");
}

/** The root task of the run `task` belongs to. */
function rootOf(task: Task): Task {
  let scope: CancelScope = task;
  while (scope.parent !== null) scope = scope.parent;
  return scope.owner;
}

function shutdownOf(task: Task): RunShutdown {
  const root = rootOf(task);
  let shutdown = byRoot.get(root);
  if (shutdown === undefined) {
    shutdown = new RunShutdown(root);
    byRoot.set(root, shutdown);
  }
  return shutdown;
}

/**
 * Requests a graceful shutdown of the calling task's run: every `serve` in it stops accepting
 * and drains within its `gracePeriod`, `waitForShutdown()` returns and `shutdownSignal()`
 * aborts. Returns at once; a second request does nothing. Outside a run: `GiambioError`.
 */
export function requestShutdown(): void {
  shutdownOf(currentTask()).request();
}

/**
 * Waits until a graceful shutdown of the calling task's run is requested (at once if it
 * already was). A cancellation point.
 */
export function waitForShutdown(): Promise<void> {
  try {
    const task = currentTask();
    return shutdownOf(task).wait(task);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * An `AbortSignal` of the calling task's run, aborted when a graceful shutdown is requested:
 * check `signal.aborted` between requests, or pass it to APIs that take a signal.
 */
export function shutdownSignal(): AbortSignal {
  return shutdownOf(currentTask()).signal();
}

/** @internal Whether a shutdown of `task`'s run has been requested. */
export function shutdownRequested(task: PublicTask): boolean {
  return shutdownOf(task as Task).requested;
}

/**
 * @internal Registers `begin` to run (synchronously, maybe from a signal handler) when a
 * shutdown of `task`'s run is requested — at once if it already was. Returns the function
 * that unregisters it.
 */
export function onShutdownRequest(task: PublicTask, begin: () => void): () => void {
  return shutdownOf(task as Task).participate(begin);
}

/**
 * @internal SIGTERM reached the run of `root`. The first one requests the graceful shutdown;
 * `stopNow` (cancel everything) runs instead when a shutdown is already under way (a second
 * SIGTERM means "now") or when nothing in the run would drain (no `serve`, no task in
 * `waitForShutdown`): the program must not ignore the signal.
 */
export function shutdownOnSignal(root: Task, stopNow: () => void): void {
  const shutdown = shutdownOf(root);
  if (shutdown.requested || !shutdown.hasParticipants) stopNow();
  else shutdown.request();
}
