/**
 * The serve loop: an accept loop in the style of Go's `net/http` (`for { conn := l.Accept(); go
 * handle(conn) }`) made structured. The loop is the body of a pool; each connection's
 * handler is a child task of that pool, so cancelling the serve reaches every handler, and
 * the serve does not return while any handler runs.
 */
import { checkDuration, checkFunction, checkInteger, checkKeys, optionKeys } from "../arguments.ts";
import { currentTask } from "../core/context.ts";
import { skipAfter } from "../core/deadlines.ts";
import { type Pool, type PoolInternal, withPool } from "../core/pool.ts";
import { onShutdownRequest } from "../core/shutdown.ts";
import {
  type BrokenResourceError,
  CancelledError,
  describe,
  type IncompleteReadError,
  ResourceClosedError,
} from "../errors.ts";
import { Connections } from "./connections.ts";
import type { Listener } from "./listener.ts";
import { isPeerErrorOf } from "./peer-errors.ts";
import { SENT, type SocketStream } from "./stream.ts";
import type { WorkerOptions } from "./workers.ts";

/** Options of `serve` and `listener.serve`. */
export interface ServeOptions extends WorkerOptions {
  /**
   * Handlers that may run at once (default `Infinity`). A connection arriving when that
   * many are running is closed at once and counted in `listener.refusedConnections`.
   */
  maxConnections?: number;
  /**
   * What a handler's error does. `"propagate"` (default): it cancels every other handler
   * and the accept loop, and the serve rejects with it — structured concurrency, as in
   * giambio's echo server — except when the error only says that this connection's peer
   * broke or left: a `BrokenResourceError` (reset, broken pipe) or `IncompleteReadError`
   * raised by the handler's own stream ends that connection alone, is counted in
   * `listener.brokenConnections` and reported to `onPeerError`. A function: it is called
   * (and awaited, in the handler's task) with every error and the stream, to log it or tell
   * the peer; then that connection is closed and serving goes on. If the function throws,
   * that error propagates. Cancellation (`CancelledError`) always propagates.
   */
  onError?: "propagate" | ((error: unknown, stream: SocketStream) => unknown);
  /**
   * Called (not awaited) when the default `onError` ends a connection because its peer broke
   * or left, with that error and the stream: to log or count resets. Not called when
   * `onError` is a function (that function sees every error).
   */
  onPeerError?: (error: BrokenResourceError | IncompleteReadError, stream: SocketStream) => void;
  /**
   * How long (ms, default 10 000) a graceful shutdown (`requestShutdown()`, SIGTERM) lets
   * the handlers in the middle of a message run before they are cancelled. On the request the
   * serve stops accepting at once, cancels each handler waiting for its next message (its
   * connection is idle), lets the others finish — each is cancelled as soon as it next waits
   * for a message — and resolves once every handler has ended.
   */
  gracePeriod?: number;
}

/** `gracePeriod` when not given (also what a worker's primary assumes). */
export const DEFAULT_GRACE_PERIOD = 10_000;
const SERVE_KEYS = ["maxConnections", "onError", "onPeerError", "gracePeriod"] as const;
/** What top-level `serve` accepts: `listener.serve`'s options and the worker options. */
export const SERVE_WITH_WORKERS_KEYS = [...SERVE_KEYS, "workers", "workerPolicy"] as const;

type Handler = (stream: SocketStream) => unknown;

/**
 * What `serve` does to its listener beyond the public API: close and count a connection
 * nobody will handle, count one whose peer broke or left. Handed over by the listener, so
 * that users cannot reach it through `Listener`.
 */
export interface ListenerCounts {
  refuse(stream: SocketStream): void;
  countBroken(): void;
}

/** @internal `listener.serve(handler, options)`. */
export async function serveListener(
  listener: Listener,
  counts: ListenerCounts,
  handler: Handler,
  options: ServeOptions | undefined,
): Promise<void> {
  const policy = checkServeArguments(handler, options);
  const { maxConnections, gracePeriod } = policy;
  if (listener.closed) throw new ResourceClosedError(`serve() on ${listener} after close()`);
  const connections = new Connections();
  const serving: Serving = { handler, policy, counts, connections };
  // Runs synchronously when the shutdown is requested, maybe in a SIGTERM handler: closing
  // the listener wakes the accept loop, and idle connections are closed at once.
  const stopDraining = onShutdownRequest(currentTask(), () => {
    void listener.close();
    connections.drain();
  });
  try {
    await withPool(async (pool: Pool) => {
      // Every child of this pool is a connection's task, and ends through `endConnection`.
      connections.handledIn(pool);
      (pool as PoolInternal).childEpilogue = (stream, _value, error, failed) =>
        endConnection(stream as SocketStream, serving, error, failed);
      for (;;) {
        let stream: SocketStream;
        try {
          stream = await listener.accept();
        } catch (error) {
          // Closed by another task or a shutdown: stop accepting, let the running handlers finish.
          if (error instanceof ResourceClosedError && listener.closed) break;
          throw error;
        }
        if (connections.active >= maxConnections) {
          counts.refuse(stream);
          continue;
        }
        // Named after the peer, a string made only if the name is read; and by the name, the
        // drain and the epilogue find the task's stream.
        (pool as PoolInternal).spawnNamedBy(stream, handleConnection, stream, serving);
      }
      if (connections.draining) {
        // A drain is not an error: what is still running when the grace period ends is
        // cancelled (its `finally` blocks run) and the serve resolves.
        await skipAfter(gracePeriod, () => connections.allEnded());
        pool.cancel();
      }
    });
  } finally {
    stopDraining();
    await listener.close();
  }
}

/** What every connection's task of one serve shares. */
interface Serving {
  readonly handler: Handler;
  readonly policy: ReturnType<typeof checkServeArguments>;
  readonly counts: ListenerCounts;
  readonly connections: Connections;
}

/**
 * One connection's task: registers the connection, then runs the handler. What the handler
 * returns (a promise as is, a thenable adopted, a value wrapped, as `await` would take it)
 * is the task's outcome, which `endConnection`, the pool's epilogue, then acts on.
 */
function handleConnection(stream: SocketStream, serving: Serving): unknown {
  serving.connections.add(stream, currentTask());
  return serving.handler(stream);
}

/**
 * The pool's epilogue (see `ChildEpilogue`): the handler's task ends here, applying `onError`
 * and closing the stream; synchronously when nothing has to be waited for. At the end of a
 * load thousands of connections may end at once, while their objects are still live, and a
 * frame or a promise made for each end would add to the process's peak memory; the
 * epilogue also spares every connection, while it lives, the promise and reaction that an
 * end chained to the handler's promise would hold; the task's name is its stream, so no
 * entry of its own is needed to find it.
 */
function endConnection(
  stream: SocketStream,
  serving: Serving,
  error: unknown,
  failed: boolean,
): Promise<void> | undefined {
  return failed ? handlerFailedIn(stream, serving, error) : closeConnection(stream, serving);
}

/** The handler failed with `error`: `onError` (awaited), then the stream is closed. */
function handlerFailedIn(
  stream: SocketStream,
  serving: Serving,
  error: unknown,
): Promise<void> | undefined {
  let reported: unknown;
  try {
    reported = applyOnError(error, stream, serving);
  } catch (propagated) {
    return endAfter(stream, serving, Promise.reject(propagated));
  }
  // A function `onError` is awaited, whatever it returns (as `await` takes it).
  return reported === undefined
    ? closeConnection(stream, serving)
    : endAfter(stream, serving, reported);
}

/**
 * `onError` for the handler's `error`: returns what a function `onError` returned; throws
 * when the error propagates (a cancellation, any error but a peer's with the default policy).
 */
function applyOnError(error: unknown, stream: SocketStream, serving: Serving): unknown {
  if (error instanceof CancelledError) throw error;
  const { onError, onPeerError } = serving.policy;
  if (onError !== "propagate") return onError(error, stream);
  if (!isPeerErrorOf(error, stream)) throw error;
  // The peer reset or vanished: that ends its connection, never the server.
  serving.counts.countBroken();
  onPeerError?.(error as BrokenResourceError | IncompleteReadError, stream);
  return undefined;
}

/** Closes the stream and leaves the registry: at once, or once the unsent bytes are flushed. */
function closeConnection(stream: SocketStream, serving: Serving): Promise<void> | undefined {
  const closing = stream.close();
  if (closing !== SENT) return endAfter(stream, serving, closing);
  serving.connections.remove();
  return undefined;
}

/** Waits for `pending` (its error propagates), then closes the stream and leaves the registry. */
async function endAfter(stream: SocketStream, serving: Serving, pending: unknown): Promise<void> {
  try {
    await pending;
  } finally {
    await stream.close();
    serving.connections.remove();
  }
}

/**
 * Checks that `options` is an options object with only `accepted` keys, naming the call as
 * `call` (`serve(handler, options)`, or top-level `serve(options, handler, serveOptions)`).
 */
export function checkServeOptionKeys(
  call: string,
  options: unknown,
  accepted: readonly string[] = SERVE_KEYS,
): void {
  if (options === undefined) return;
  // Not a bag (an array, a class instance, a Proxy whose traps throw): checkOptions' error.
  const keys = optionKeys(call, options, "{ maxConnections: 100 }");
  // The type lets listener.serve take WorkerOptions (ServeOptions includes them): say why not.
  if (
    !accepted.includes("workers") &&
    (keys.includes("workers") || keys.includes("workerPolicy"))
  ) {
    throw new TypeError(
      `${call} cannot take { workers } or { workerPolicy }: each worker process listens itself; call serve(listenOptions, handler, { workers }) instead`,
    );
  }
  checkKeys(call, keys, accepted);
}

/** Checks `serve`'s handler and options; returns the options with their defaults. */
export function checkServeArguments(
  handler: unknown,
  options: ServeOptions | undefined,
  call = "serve(handler, options)",
) {
  checkFunction("serve(handler)", handler);
  checkServeOptionKeys(call, options);
  const maxConnections =
    options?.maxConnections === undefined
      ? Number.POSITIVE_INFINITY
      : checkInteger("serve({ maxConnections })", options.maxConnections, 1, true);
  const onError = options?.onError === undefined ? "propagate" : options.onError;
  if (onError !== "propagate" && typeof onError !== "function") {
    throw new TypeError(
      `serve({ onError }) must be "propagate" or a function (error, stream) => void, got ${describe(onError)}`,
    );
  }
  const onPeerError = options?.onPeerError;
  if (onPeerError !== undefined && typeof onPeerError !== "function") {
    throw new TypeError(
      `serve({ onPeerError }) must be a function (error, stream) => void, got ${describe(onPeerError)}`,
    );
  }
  const gracePeriod =
    options?.gracePeriod === undefined
      ? DEFAULT_GRACE_PERIOD
      : checkDuration("serve({ gracePeriod })", options.gracePeriod);
  return { maxConnections, onError, onPeerError, gracePeriod };
}
