/**
 * Standard input as lines, for interactive programs: a chat client reads the keyboard in one
 * task while another prints what the server says, and either may end the program.
 *
 * Why not `until(console[Symbol.asyncIterator]().next())`: a cancelled `until` leaves its
 * read pending, and a pending read of stdin keeps Bun alive until the user presses Ctrl+D.
 * Here stdin flows only while a task waits for a line. Every other time — no task waiting,
 * the wait cancelled, the iterator returned — it is paused, which lets the process exit while
 * stdin stays open; bytes read but not yet taken stay buffered for the next line.
 */
import { currentTask } from "../core/context.ts";
import {
  type Blocker,
  checkCancelled,
  park,
  refuseWait,
  wake,
  wakeWithError,
} from "../core/park.ts";
import type { Task } from "../core/task.ts";
import { ResourceBusyError } from "../errors.ts";

/** What a line source needs of a Node-style readable (`process.stdin`, a `PassThrough`). */
export interface LineInput {
  on(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  on(event: "error", listener: (error: unknown) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

type Outcome =
  | { ok: true; result: IteratorResult<string, undefined> }
  | { ok: false; error: unknown };

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The lines of one input, shared by every iterator over it so that no line is lost between
 * them (a second `stdinLines()` after a first was abandoned gets what the first left).
 */
class LineSource implements Blocker {
  readonly external = true; // the user's typing wakes the task, not another task
  readonly cancellable = true;
  readonly #input: LineInput;
  readonly #decoder = new TextDecoder();
  readonly #lines: string[] = [];
  #partial = "";
  #ended = false;
  #failure: { error: unknown } | null = null;
  #listening = false;
  /** The one task waiting for a line, if any; stdin flows exactly while this is set. */
  #waiter: Task | null = null;

  constructor(input: LineInput) {
    this.#input = input;
  }

  next(): Promise<IteratorResult<string, undefined>> {
    try {
      const task = currentTask();
      if (this.#waiter !== null) {
        throw new ResourceBusyError(
          `stdinLines(): task '${this.#waiter.name}' is already waiting for a line; read standard input from one task at a time`,
        );
      }
      const ready = this.#take();
      if (ready !== null) {
        const cancelled = checkCancelled(task);
        if (cancelled !== null) {
          if (ready.ok && !ready.result.done) this.#lines.unshift(ready.result.value);
          return cancelled;
        }
        return ready.ok ? Promise.resolve(ready.result) : Promise.reject(ready.error);
      }
      const refused = refuseWait(task);
      if (refused !== null) return refused;
      this.#waiter = task;
      const parked = park<IteratorResult<string, undefined>>(task, this);
      this.#listen();
      return parked;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  abortWait(): void {
    this.#waiter = null;
    this.#input.pause();
  }

  describeWait(): string {
    return "stdinLines() (standard input)";
  }

  /** The next line, the end, or the input's error; null when the caller must wait. */
  #take(): Outcome | null {
    const line = this.#lines.shift();
    if (line !== undefined) return { ok: true, result: { done: false, value: line } };
    if (this.#failure !== null) return { ok: false, error: this.#failure.error };
    if (this.#ended) return { ok: true, result: DONE };
    return null;
  }

  #listen(): void {
    if (!this.#listening) {
      this.#listening = true;
      this.#input.on("data", (chunk) => {
        const text =
          typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
        this.#split(text);
        this.#deliver();
      });
      this.#input.on("end", () => {
        this.#split(this.#decoder.decode());
        if (this.#partial !== "") this.#lines.push(this.#partial);
        this.#partial = "";
        this.#ended = true;
        this.#deliver();
      });
      this.#input.on("error", (error) => {
        this.#failure = { error };
        this.#deliver();
      });
    }
    this.#input.resume();
  }

  #split(text: string): void {
    let buffered = this.#partial + text;
    for (let end = buffered.indexOf("\n"); end !== -1; end = buffered.indexOf("\n")) {
      const line = buffered.slice(0, end);
      this.#lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      buffered = buffered.slice(end + 1);
    }
    this.#partial = buffered;
  }

  /** Hands the waiter what arrived, and stops the input flowing until the next wait. */
  #deliver(): void {
    const task = this.#waiter;
    if (task === null) return;
    const ready = this.#take();
    if (ready === null) return;
    this.#waiter = null;
    this.#input.pause();
    if (ready.ok) wake(task, ready.result);
    else wakeWithError(task, ready.error);
  }
}

/** One iteration over a source: `return()` ends it without touching the source's lines. */
class LineIterator implements AsyncIterableIterator<string, undefined, undefined> {
  readonly #source: LineSource;
  #returned = false;

  constructor(source: LineSource) {
    this.#source = source;
  }

  next(): Promise<IteratorResult<string, undefined>> {
    return this.#returned ? Promise.resolve(DONE) : this.#source.next();
  }

  return(): Promise<IteratorResult<string, undefined>> {
    this.#returned = true;
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

const sources = new WeakMap<LineInput, LineSource>();

/** The lines of `input` (internal: tests feed a `PassThrough`; users call `stdinLines`). */
export function linesOf(input: LineInput): AsyncIterableIterator<string, undefined, undefined> {
  let source = sources.get(input);
  if (source === undefined) {
    source = new LineSource(input);
    sources.set(input, source);
  }
  return new LineIterator(source);
}

/**
 * The lines of standard input, without their line ending ("\n" or "\r\n"); a last line
 * without one is yielded at EOF, then the iteration ends. Each `next()` is a cancellation
 * point, to be awaited inside a task, one task at a time (a second concurrent waiter is a
 * `ResourceBusyError`). A cancelled wait loses no input and does not keep Bun alive: stdin
 * is read only while a task waits on it.
 */
export function stdinLines(): AsyncIterableIterator<string, undefined, undefined> {
  return linesOf(process.stdin);
}
