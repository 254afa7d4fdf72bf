/**
 * The connections one `serve` is handling, and their graceful drain. On a shutdown request a
 * connection whose handler waits for the first byte of its next message (`READER_IDLE`)
 * is idle: its handler is cancelled at once, which closes it. A handler in the middle of a
 * message goes on; it is cancelled as soon as it next waits for a message, so a request in
 * flight gets its reply and the connection closes right after (Go's `Server.Shutdown`
 * closes idle connections the same way).
 *
 * The handlers are a doubly linked list of small entries, not a `Map`: JSC's `Map` costs
 * about 130 bytes per entry, an entry here 64.
 */
import { currentTask } from "../core/context.ts";
import { type Blocker, park, refuseWait, wake } from "../core/park.ts";
import { TASK_NAME, type Task, type TaskNamer } from "../core/task.ts";
import type { SocketStream } from "./stream.ts";
import { ON_READER_IDLE, READER_IDLE } from "./transport-symbols.ts";

/**
 * One connection a serve handles: its stream, what the serve shares with every handler
 * (`shared`), and, once its handler runs (`add`), its task, linked to its neighbours. Its
 * task is spawned named by it (the peer's address, made only if read), so the task finds
 * its connection again through its name, with no map from tasks to connections.
 */
export class Connection<S = unknown> implements TaskNamer {
  readonly stream: SocketStream;
  readonly shared: S;
  /** Set by `add`, in the task itself. */
  task: Task | null = null;
  previous: Connection<S> | null = null;
  next: Connection<S> | null = null;

  constructor(stream: SocketStream, shared: S) {
    this.stream = stream;
    this.shared = shared;
  }

  [TASK_NAME](): string {
    return this.stream[TASK_NAME]();
  }
}

export class Connections<S = unknown> implements Blocker {
  readonly external = false;
  readonly cancellable = true;
  /** The running handlers, oldest first (the drain closes them in arrival order). */
  #first: Connection<S> | null = null;
  #last: Connection<S> | null = null;
  #active = 0;
  #draining = false;
  /** The task waiting in `allEnded()`, if any. */
  #waiter: Task | null = null;

  get active(): number {
    return this.#active;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** `task` handles `connection` (registered before the handler runs); later, `remove` it. */
  add(connection: Connection<S>, task: Task): void {
    const last = this.#last;
    connection.task = task;
    connection.previous = last;
    if (last === null) this.#first = connection;
    else last.next = connection;
    this.#last = connection;
    this.#active++;
    if (this.#draining) closeWhenIdle(connection);
  }

  remove(connection: Connection<S>): void {
    const { previous, next } = connection;
    if (previous === null) this.#first = next;
    else previous.next = next;
    if (next === null) this.#last = previous;
    else next.previous = previous;
    // An ended handler's entry must not keep its neighbours (and their streams) reachable.
    connection.previous = null;
    connection.next = null;
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
    // Cancelling a handler only schedules it: its entry leaves the list later, in its task.
    let connection = this.#first;
    while (connection !== null) {
      const next = connection.next;
      closeWhenIdle(connection);
      connection = next;
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

function closeWhenIdle({ stream, task }: Connection<unknown>): void {
  const handler = task as Task; // every connection in the list has its task
  if (stream[READER_IDLE]) handler.cancel();
  else stream[ON_READER_IDLE] = () => handler.cancel();
}
