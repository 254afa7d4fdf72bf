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
