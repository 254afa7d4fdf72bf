/**
 * `serve`: `listen` and `listener.serve` in one call. Apart from serve-loop.ts (the accept
 * loop itself) so that listener.ts can use the loop without a runtime import cycle.
 */
import type { ListenOptions } from "./endpoint.ts";
import { listen } from "./listener.ts";
import { checkServeArguments, type ServeOptions } from "./serve-loop.ts";
import type { SocketStream } from "./stream.ts";
import { takeWorkerOptions } from "./workers.ts";

export type { ServeOptions } from "./serve-loop.ts";

/**
 * `listen(options)` + `listener.serve(handler, serveOptions)`: serves until cancelled, until
 * a graceful shutdown has drained it (it then resolves), or until a handler's error
 * propagates. To learn the port bound for `port: 0`, call `listen` and `listener.serve`
 * yourself.
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
