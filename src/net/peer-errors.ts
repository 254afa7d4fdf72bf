/**
 * Which stream raised an error because its peer broke or left the connection. `serve`'s
 * default policy ends only the connection whose own stream raised such an error; the same
 * error class raised by another stream (a handler's upstream connection, say) must still
 * propagate, so the class alone cannot decide: the stream tags the errors it raises.
 */
import { BrokenResourceError, IncompleteReadError, nameOnPrototypes } from "../errors.ts";

const raisedBy = new WeakMap<Error, object>();

/** Records that `stream` raised `error` because its peer reset, vanished or stopped early. */
export function raisedByPeerOf<E extends Error>(error: E, stream: object): E {
  raisedBy.set(error, stream);
  return error;
}

/**
 * `error` says that the peer of `stream` broke (reset, broken pipe) or left the connection
 * in the middle of a message: a `BrokenResourceError` or `IncompleteReadError` raised by
 * `stream` itself.
 */
export function isPeerErrorOf(error: unknown, stream: object): boolean {
  if (error instanceof BrokenConnectionError) return BrokenConnectionError.raisedBy(error, stream);
  return (
    (error instanceof BrokenResourceError || error instanceof IncompleteReadError) &&
    raisedBy.get(error) === stream
  );
}

/** What a `BrokenConnectionError` needs of its stream: its peer, for the message. */
export interface BrokenStream {
  readonly peer: string;
}

/**
 * The `BrokenResourceError` a socket stream raises once its connection broke (a reset, a
 * broken pipe, a TLS failure, a failed write). Its message — which connection, why, and how
 * many queued bytes were lost — is made when read, like its `stack` when it has no frames:
 * when thousands of connections are reset at once, the strings of errors that nobody reads
 * (serve ends such a connection quietly by default) add to the process's peak memory (a
 * burst of 5,000 resets: about 0.35 KB per connection for the message alone, measured).
 * Assigning `message` or `stack` stores the value given, as on any error. The one
 * difference: `structuredClone`, which copies only own data properties, gives an `Error`
 * without the message (it drops every error's class name anyway). The stream it came from
 * is kept, privately, for `isPeerErrorOf`.
 */
export class BrokenConnectionError extends BrokenResourceError {
  readonly #stream: BrokenStream;
  readonly #why: string;
  readonly #lostBytes: number;

  /** `cause`: what broke the connection (Bun's error), or null when it was only closed. */
  constructor(stream: BrokenStream, cause: Error | null, lostBytes: number) {
    super(undefined, cause === null ? undefined : { cause });
    this.#stream = stream;
    this.#why = cause === null ? "the connection was closed" : describeBreak(cause);
    this.#lostBytes = lostBytes;
    // With frames (not made by `withoutStack`), Bun wrote the stack's first line before the
    // message existed: "Error". It gets the usual "BrokenResourceError: message" line.
    if (Error.stackTraceLimit > 0) {
      const captured: unknown = Object.getOwnPropertyDescriptor(this, "stack")?.value;
      if (typeof captured === "string") {
        const frames = captured.indexOf("\n");
        this.stack = `${this.name}: ${this.message}${frames === -1 ? "" : captured.slice(frames)}`;
      }
    }
  }

  override get message(): string {
    const loss =
      this.#lostBytes > 0
        ? `; ${this.#lostBytes} bytes that earlier sendAll() calls queued were not delivered to the kernel`
        : "";
    return `the connection to ${this.#stream.peer} is broken: ${this.#why}${loss}`;
  }

  override set message(message: string) {
    Object.defineProperty(this, "message", { value: message, writable: true, configurable: true });
  }

  /** `stream` raised `error` (a private field: logging an error must not print its stream). */
  static raisedBy(error: BrokenConnectionError, stream: object): boolean {
    return error.#stream === stream;
  }

  /** Only read when the error has no stack of its own (see `withoutStack`). */
  override get stack(): string {
    return `${this.name}: ${this.message}`;
  }

  override set stack(stack: string) {
    Object.defineProperty(this, "stack", { value: stack, writable: true, configurable: true });
  }
}

// It shows as what it is to users, a BrokenResourceError: Bun's error printer reads the name
// on the error's own prototype (not up the chain), `util.inspect` the constructor's name.
nameOnPrototypes({ BrokenResourceError: BrokenConnectionError });
Object.defineProperty(BrokenConnectionError, "name", { value: "BrokenResourceError" });

/** Why a connection broke, from the error Bun reported. */
function describeBreak(cause: Error): string {
  const code = (cause as { code?: unknown }).code;
  if (code === "ECONNRESET") return "connection reset by peer (ECONNRESET)";
  if (code === "EPIPE") return "the peer is gone (EPIPE)";
  return cause.message;
}

/**
 * `make(arg)`'s error without a captured stack trace, its `stack` only its first line: for an
 * error handed to a task parked on a stream, which is made while a socket callback (or the
 * peer's `close()`) runs. Its frames would be those of the callback and the stream's own
 * internals, never the waiting task's, so they tell a reader nothing. And when thousands
 * of connections are reset at once (a load balancer restarting, a load generator exiting),
 * the stacks cost: each holds a native array of frames until the error is collected, about
 * 600 bytes of resident memory for a stack nine frames deep (measured, Bun 1.4.5).
 * `arg` is there so that a caller need not make a closure for each error.
 */
export function withoutStack<E extends Error, A = undefined>(make: (arg: A) => E, arg?: A): E {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 0;
  } catch {
    return make(arg as A); // a frozen `Error` (a hardened realm): the error keeps its stack
  }
  let error: E;
  try {
    error = make(arg as A);
  } finally {
    Error.stackTraceLimit = limit;
  }
  // JavaScriptCore leaves `stack` undefined without frames; code that logs it expects a
  // string. An error class that makes its own when read (BrokenConnectionError) keeps it.
  if (!("stack" in error)) error.stack = `${error.name}: ${error.message}`;
  return error;
}
