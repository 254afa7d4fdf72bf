/**
 * Serving: an accept loop in the style of Go's `net/http` (`for { conn := l.Accept(); go
 * handle(conn) }`) made structured. The loop is the body of a pool; each connection's
 * handler is a child task of that pool, so cancelling the serve reaches every handler, and
 * the serve does not return while any handler runs.
 */
import { checkFunction, checkInteger } from "../arguments.ts";
import { type Pool, withPool } from "../core/pool.ts";
import { CancelledError, describe, ResourceClosedError } from "../errors.ts";
import type { ListenOptions } from "./endpoint.ts";
import { type Listener, listen } from "./listener.ts";
import type { SocketStream } from "./stream.ts";
import { takeWorkerOptions, type WorkerOptions } from "./workers.ts";

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
   * giambio's echo server. A function: it is called (and awaited, in the handler's task)
   * with the error and the stream, to log it or tell the peer; then that connection is
   * closed and serving goes on. If the function throws, that error propagates.
   * Cancellation (`CancelledError`) always propagates.
   */
  onError?: "propagate" | ((error: unknown, stream: SocketStream) => unknown);
}

type Handler = (stream: SocketStream) => unknown;

/**
 * `listen(options)` + `listener.serve(handler, serveOptions)`: serves until cancelled (or
 * until a handler's error propagates). To learn the port bound for `port: 0`, call `listen`
 * and `listener.serve` yourself.
 */
export async function serve(
  options: ListenOptions,
  handler: (stream: SocketStream) => unknown,
  serveOptions?: ServeOptions,
): Promise<void> {
  const workers = takeWorkerOptions(options, serveOptions);
  const rest: ServeOptions | undefined = workers?.serveOptions ?? serveOptions;
  checkServeArguments(handler, rest);
  if (workers?.supervise) return workers.supervise();
  const listener = await listen(workers?.listenOptions ?? options);
  return listener.serve(handler, rest);
}

/** @internal `listener.serve(handler, options)`. */
export async function serveListener(
  listener: Listener,
  handler: Handler,
  options: ServeOptions | undefined,
): Promise<void> {
  const { maxConnections, onError } = checkServeArguments(handler, options);
  if (listener.closed) throw new ResourceClosedError(`serve() on ${listener} after close()`);
  const connections = { active: 0 };
  try {
    await withPool(async (pool: Pool) => {
      for (;;) {
        let stream: SocketStream;
        try {
          stream = await listener.accept();
        } catch (error) {
          // Closed by another task: stop accepting and let the running handlers finish.
          if (error instanceof ResourceClosedError && listener.closed) return;
          throw error;
        }
        if (connections.active >= maxConnections) {
          listener.refuse(stream);
          continue;
        }
        connections.active++;
        pool.spawnNamed(stream.peer, handleConnection, stream, handler, onError, connections);
      }
    });
  } finally {
    await listener.close();
  }
}

/** One connection's task: run the handler, apply `onError`, always close the stream. */
async function handleConnection(
  stream: SocketStream,
  handler: Handler,
  onError: Exclude<ServeOptions["onError"], undefined>,
  connections: { active: number },
): Promise<void> {
  try {
    await handler(stream);
  } catch (error) {
    if (onError === "propagate" || error instanceof CancelledError) throw error;
    await onError(error, stream);
  } finally {
    connections.active--;
    await stream.close();
  }
}

function checkServeArguments(handler: unknown, options: ServeOptions | undefined) {
  checkFunction("serve(handler)", handler);
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(`serve(handler, options) must get an object, got ${describe(options)}`);
  }
  const maxConnections =
    options?.maxConnections === undefined
      ? Number.POSITIVE_INFINITY
      : checkInteger("serve({ maxConnections })", options.maxConnections, 1, true);
  const onError = options?.onError ?? "propagate";
  if (onError !== "propagate" && typeof onError !== "function") {
    throw new TypeError(
      `serve({ onError }) must be "propagate" or a function (error, stream) => void, got ${describe(onError)}`,
    );
  }
  return { maxConnections, onError };
}
