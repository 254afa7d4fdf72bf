/**
 * The connections one `serve` is handling, and their graceful drain. On a shutdown request a
 * connection whose handler waits for the first byte of its next message (`READER_IDLE`)
 * is idle: its handler is cancelled at once, which closes it. A handler in the middle of a
 * message goes on; it is cancelled as soon as it next waits for a message, so a request in
 * flight gets its reply and the connection closes right after (Go's `Server.Shutdown`
 * closes idle connections the same way).
 *
 * The handlers are not listed here: each is a child task of the serve's pool, spawned named
 * by its stream, so the pool's own list of children is the list of connections, and a
 * connection costs no entry of its own (64 bytes each, as a linked list; a `Map` entry ~130).
 */
import { currentTask } from "../core/context.ts";
import { type Blocker, park, refuseWait, wake } from "../core/park.ts";
import type { Pool } from "../core/pool.ts";
import type { Task, TaskInternal } from "../core/task.ts";
import type { SocketStream } from "./stream.ts";
import { ON_READER_IDLE, READER_IDLE } from "./transport-symbols.ts";

export class Connections implements Blocker {
  readonly external = false;
  readonly cancellable = true;
  /** The pool whose children are the handlers' tasks, once it exists. */
  #pool: Pool | null = null;
  #active = 0;
  #draining = false;
  /** The task waiting in `allEnded()`, if any. */
  #waiter: Task | null = null;

  /** Handlers running (registered and not yet removed). */
  get active(): number {
    return this.#active;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * The handlers run as children of `pool`, each spawned named by its stream
   * (`spawnNamedBy(stream, ...)`), and no other task is a child of it.
   */
  handledIn(pool: Pool): void {
    this.#pool = pool;
  }

  /** `task` handles `stream` (registered before the handler runs); later, `remove()` it. */
  add(stream: SocketStream, task: Task): void {
    this.#active++;
    if (this.#draining) closeWhenIdle(stream, task);
  }

  /** A handler added with `add` has ended and its stream is closed. */
  remove(): void {
    this.#active--;
    const waiter = this.#waiter;
    if (this.#active === 0 && waiter !== null) {
      this.#waiter = null;
      wake(waiter);
    }
  }

  /** A shutdown began: close the idle connections now and the others once they are idle. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    // Cancelling a handler only schedules it: its task leaves the pool later. Oldest first.
    const tasks = this.#pool?.tasks ?? [];
    for (let i = tasks.length - 1; i >= 0; i--) {
      const task = tasks[i] as TaskInternal;
      closeWhenIdle(task.givenName as SocketStream, task);
    }
  }

  /** Waits until every handler has ended. A cancellation point. */
  allEnded(): Promise<void> {
    const task = currentTask();
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    if (this.#active === 0) return Promise.resolve();
    this.#waiter = task;
    return park(task, this);
  }

  abortWait(): void {
    this.#waiter = null;
  }

  describeWait(): string {
    return `the drain of ${this.#active} connection(s)`;
  }
}

function closeWhenIdle(stream: SocketStream, task: Task): void {
  if (stream[READER_IDLE]) task.cancel();
  else stream[ON_READER_IDLE] = () => task.cancel();
}
