/**
 * `serve`: `listen` and `listener.serve` in one call. Apart from serve-loop.ts (the accept
 * loop itself) so that listener.ts can use the loop without a runtime import cycle.
 */
import type { Started } from "../core/start.ts";
import type { ListenOptions } from "./endpoint.ts";
import { type Listener, listen } from "./listener.ts";
import {
  checkServeArguments,
  checkServeOptionKeys,
  SERVE_WITH_WORKERS_KEYS,
  type ServeOptions,
} from "./serve-loop.ts";
import type { SocketStream } from "./stream.ts";
import { takeWorkerOptions } from "./workers.ts";

export type { ServeOptions } from "./serve-loop.ts";

const CALL = "serve(options, handler, serveOptions)";

type ServeArguments = [
  options: ListenOptions,
  handler: (stream: SocketStream) => unknown,
  serveOptions?: ServeOptions | undefined, // undefined as well, as an optional parameter
];

/**
 * `listen(options)` + `listener.serve(handler, serveOptions)`: serves until cancelled, until
 * a graceful shutdown has drained it (it then resolves), or until a handler's error
 * propagates. To learn the port bound for `port: 0`, start it with
 * `await pool.start(serve, options, handler, serveOptions?)`, which resolves with the bound
 * `Listener` once it listens (trio's `nursery.start(serve_tcp, ...)`).
 */
export function serve(
  options: ListenOptions,
  handler: (stream: SocketStream) => unknown,
  serveOptions?: ServeOptions,
): Promise<void>;
/**
 * The form `pool.start` calls: `started(listener)` once it listens. Declared last because
 * TypeScript infers a callback's parameters (here `pool.start`'s) from the last overload.
 */
export function serve(
  started: Started<Listener>,
  options: ListenOptions,
  handler: (stream: SocketStream) => unknown,
  serveOptions?: ServeOptions,
): Promise<void>;
export async function serve(
  ...args: ServeArguments | [Started<Listener>, ...ServeArguments]
): Promise<void> {
  // A function first is `pool.start`'s `started`: options are never a function.
  const [started, options, handler, serveOptions] =
    typeof args[0] === "function"
      ? (args as [Started<Listener>, ...ServeArguments])
      : [undefined, ...(args as ServeArguments)];
  // Every key first (the worker ones too), so that a misspelt one is named before anything starts.
  checkServeOptionKeys(CALL, serveOptions, SERVE_WITH_WORKERS_KEYS);
  const workers = takeWorkerOptions(options, serveOptions, started !== undefined);
  const rest: ServeOptions | undefined = workers?.serveOptions ?? serveOptions;
  checkServeArguments(handler, rest, CALL);
  if (workers?.supervise) return workers.supervise();
  const listener = await listen(workers?.listenOptions ?? options);
  started?.(listener);
  return listener.serve(handler, rest);
}
