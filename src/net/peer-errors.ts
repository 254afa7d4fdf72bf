/**
 * Which stream raised an error because its peer broke or left the connection. `serve`'s
 * default policy ends only the connection whose own stream raised such an error; the same
 * error class raised by another stream (a handler's upstream connection, say) must still
 * propagate, so the class alone cannot decide: the stream tags the errors it raises.
 */
import { BrokenResourceError, IncompleteReadError } from "../errors.ts";

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
  return (
    (error instanceof BrokenResourceError || error instanceof IncompleteReadError) &&
    raisedBy.get(error) === stream
  );
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
  // JavaScriptCore leaves `stack` undefined without frames; code that logs it expects a string.
  error.stack = `${error.name}: ${error.message}`;
  return error;
}
