/**
 * Connecting: `connect` starts `Bun.connect` and parks the calling task until the
 * connection is usable — open for TCP and unix sockets, handshake done for TLS (Bun drops
 * what a TLS client writes before that) — or has failed.
 */
import type { SocketHandler } from "bun";
import { currentTask } from "../core/context.ts";
import { type Blocker, park, refuseWait, wake, wakeWithError } from "../core/park.ts";
import type { Task } from "../core/task.ts";
import {
  type ConnectOptions,
  type ConnectPlan,
  type Endpoint,
  endpointError,
  formatEndpoint,
  parseConnectOptions,
} from "./endpoint.ts";
import { openSocketStream, SocketStream } from "./stream.ts";
import { SOCKET_CALLBACKS } from "./transport-symbols.ts";

/**
 * Connects to `{ hostname, port }` or `{ unix: path }`, with TLS if `tls` is given, and
 * resolves with the stream once it is usable. A cancellation point: a cancelled attempt
 * closes whatever it had opened. A refused, unreachable or unresolvable address (or a failed
 * TLS handshake) rejects with an error naming the address, with Bun's `code` (`ECONNREFUSED`,
 * `ENOENT`, `ENOTFOUND`, ...) and the original error as `cause`.
 */
export function connect(options: ConnectOptions): Promise<SocketStream> {
  let task: Task;
  let plan: ConnectPlan;
  try {
    task = currentTask();
    plan = parseConnectOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const refused = refuseWait(task);
  if (refused !== null) return refused;
  const attempt = new ConnectAttempt(task, plan.endpoint);
  const connected = park<SocketStream>(task, attempt);
  attempt.start(plan);
  return connected;
}

/** One `connect` in flight: the Blocker its task parks on. */
class ConnectAttempt implements Blocker {
  readonly external = true;
  readonly cancellable = true;
  /** The task waiting for the outcome; null once it has it or was cancelled. */
  #task: Task | null;
  /** The stream once the socket opened (TLS: while the handshake runs). */
  #stream: SocketStream | null = null;

  constructor(
    task: Task,
    readonly endpoint: Endpoint,
  ) {
    this.#task = task;
  }

  start(plan: ConnectPlan): void {
    const { endpoint, tls } = plan;
    const unixPath = endpoint.kind === "unix" ? endpoint.path : null;
    const handler: SocketHandler<SocketStream, "uint8array"> = {
      ...SocketStream[SOCKET_CALLBACKS],
      binaryType: "uint8array",
      open: (socket) => {
        const stream = openSocketStream(socket, unixPath);
        socket.data = stream;
        this.#stream = stream;
        if (tls === false) this.#ready(stream);
      },
      close: (socket, error) => {
        SocketStream[SOCKET_CALLBACKS].close(socket, error);
        this.#fail(error ?? new Error("the connection closed before it was established"));
      },
      connectError: (_socket, error) => this.#fail(error),
    };
    if (tls !== false) {
      handler.handshake = (socket, success, authorizationError) => {
        if (success) this.#ready(socket.data);
        else {
          const reason = authorizationError?.message ?? "the server was not authorized";
          this.#fail(new Error(`TLS handshake failed: ${reason}`, { cause: authorizationError }));
        }
      };
    }
    // binaryType "uint8array" hands `data` a Uint8Array; Bun's option types assume Buffer.
    const socket = handler as unknown as SocketHandler<SocketStream>;
    // allowHalfOpen: else Bun closes both directions when the peer half-closes.
    try {
      const connecting =
        endpoint.kind === "unix"
          ? Bun.connect<SocketStream>({ unix: endpoint.path, tls, allowHalfOpen: true, socket })
          : Bun.connect<SocketStream>({
              hostname: endpoint.hostname,
              port: endpoint.port,
              tls,
              allowHalfOpen: true,
              socket,
            });
      connecting.then(undefined, (error) => this.#fail(error));
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Blocker: the task was cancelled; close what was opened, now or when it opens. */
  abortWait(): void {
    this.#task = null;
    if (this.#stream !== null) void this.#stream.close();
  }

  describeWait(): string {
    return `connect() to ${formatEndpoint(this.endpoint)}`;
  }

  #ready(stream: SocketStream): void {
    const task = this.#task;
    if (task === null) {
      void stream.close(); // nobody wants it any more
      return;
    }
    this.#task = null;
    wake(task, stream);
  }

  #fail(cause: unknown): void {
    const task = this.#task;
    if (task === null) return;
    this.#task = null;
    if (this.#stream !== null) void this.#stream.close();
    wakeWithError(task, endpointError("connect to", this.endpoint, cause));
  }
}
