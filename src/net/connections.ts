/**
 * The connections one `serve` is handling, and their graceful drain. On a shutdown request a
 * connection whose handler waits for the first byte of its next message (`READER_IDLE`)
 * is idle: its handler is cancelled at once, which closes it. A handler in the middle of a
 * message goes on; it is cancelled as soon as it next waits for a message, so a request in
 * flight gets its reply and the connection closes right after (Go's `Server.Shutdown`
 * closes idle connections the same way).
 */
import { currentTask } from "../core/context.ts";
import { type Blocker, park, refuseWait, wake } from "../core/park.ts";
import type { Task } from "../core/task.ts";
import type { SocketStream } from "./stream.ts";
import { ON_READER_IDLE, READER_IDLE } from "./transport-symbols.ts";

export class Connections implements Blocker {
  readonly external = false;
  readonly cancellable = true;
  /** Each running handler's task, by its stream. */
  readonly #tasks = new Map<SocketStream, Task>();
  #draining = false;
  /** The task waiting in `allEnded()`, if any. */
  #waiter: Task | null = null;

  get active(): number {
    return this.#tasks.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** The calling task handles `stream` (registered before the handler runs). */
  add(stream: SocketStream, task: Task): void {
    this.#tasks.set(stream, task);
    if (this.#draining) closeWhenIdle(stream, task);
  }

  remove(stream: SocketStream): void {
    this.#tasks.delete(stream);
    const waiter = this.#waiter;
    if (this.#tasks.size === 0 && waiter !== null) {
      this.#waiter = null;
      wake(waiter);
    }
  }

  /** A shutdown began: close the idle connections now and the others once they are idle. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const [stream, task] of this.#tasks) closeWhenIdle(stream, task);
  }

  /** Waits until every handler has ended. A cancellation point. */
  allEnded(): Promise<void> {
    const task = currentTask();
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    if (this.#tasks.size === 0) return Promise.resolve();
    this.#waiter = task;
    return park(task, this);
  }

  abortWait(): void {
    this.#waiter = null;
  }

  describeWait(): string {
    return `the drain of ${this.#tasks.size} connection(s)`;
  }
}

function closeWhenIdle(stream: SocketStream, task: Task): void {
  if (stream[READER_IDLE]) task.cancel();
  else stream[ON_READER_IDLE] = () => task.cancel();
}
