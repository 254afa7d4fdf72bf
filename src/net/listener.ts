/**
 * Listening sockets. `listen` binds with `Bun.listen`; each connection Bun opens becomes a
 * `SocketStream` that goes straight to a task parked in `accept()`, or waits in a bounded
 * queue (the backlog) until one asks. A TLS connection counts only once its handshake has
 * succeeded: Bun drops what is written before that.
 */
import type { Socket, SocketHandler, SocketListener } from "bun";
import { currentTask } from "../core/context.ts";
import { type Blocker, parkChecked, refuseWait, wake, wakeWithError } from "../core/park.ts";
import type { Task } from "../core/task.ts";
import { ResourceClosedError } from "../errors.ts";
import {
  endpointError,
  formatEndpoint,
  type ListenOptions,
  type ListenPlan,
  parseListenOptions,
} from "./endpoint.ts";
import { PreAcceptDeadlines } from "./pre-accept-deadlines.ts";
import { HeaderReader, proxyCallbacks } from "./proxy-listener.ts";
import { type ListenerCounts, type ServeOptions, serveListener } from "./serve-loop.ts";
import { openSocketStream, SocketStream } from "./stream.ts";
import { SOCKET_CALLBACKS } from "./transport-symbols.ts";
import type { WorkerOptions } from "./workers.ts";

const CLOSED: Promise<void> = Promise.resolve();
/** Only `listen` may construct a Listener: a plan it did not check would crash half-way. */
const FROM_LISTEN = Symbol("listen()");
const NO_MORE_CONNECTIONS: IteratorResult<SocketStream> = { done: true, value: undefined };

/**
 * Starts listening. `{ hostname?, port }` (hostname defaults to `"0.0.0.0"`, `port: 0`
 * picks a free port) or `{ unix: path }`, plus `tls` (with `handshakeTimeout`), `reusePort` and `backlog`. The listener
 * is bound when the promise resolves. A failure to bind (address in use, ...) rejects with an
 * error naming the address, with Bun's `code` (`EADDRINUSE`, ...).
 */
export function listen(options: ListenOptions): Promise<Listener> {
  try {
    return Promise.resolve(new Listener(FROM_LISTEN, parseListenOptions(options)));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * A bound, listening socket. `accept()` connections one by one, iterate it with
 * `for await (const stream of listener)`, or hand it to `listener.serve(handler)`.
 * `await using listener = await listen(...)` closes it at the end of the block.
 */
export class Listener implements Blocker, AsyncDisposable, AsyncIterable<SocketStream> {
  /** The bound host for TCP (as given), undefined for unix sockets. */
  readonly hostname: string | undefined;
  /** The bound port (the real one when `port: 0` was asked), 0 for unix sockets. */
  readonly port: number;
  /** The socket path for unix sockets, else undefined. */
  readonly unix: string | undefined;
  /** `host:port` or `unix:path`, for logs. */
  readonly address: string;

  /** @internal Blocker: connections wake the tasks parked in `accept()`. */
  readonly external = true;
  /** @internal */
  readonly cancellable = true;

  readonly #bun: SocketListener<unknown>;
  readonly #backlog: number;
  /** Connections waiting for `accept()`, oldest first. */
  readonly #queue: SocketStream[] = [];
  /** Tasks parked in `accept()`, in arrival order. */
  readonly #acceptors: Task[] = [];
  #refused = 0;
  #broken = 0;
  /** `serve`'s access to the two counts (see `ListenerCounts`); not part of `Listener`. */
  readonly #counts: ListenerCounts = {
    refuse: (stream) => {
      this.#refused++;
      void stream.close();
    },
    countBroken: () => {
      this.#broken++;
    },
  };
  #proxyHeaderErrors = 0;
  #handshakeErrors = 0;
  #closed = false;
  /** With proxyProtocol: connections still reading their header, and their time limit. */
  readonly #headerReaders: PreAcceptDeadlines<HeaderReader>;
  /** With tls and proxyProtocol: connections in their TLS handshake after the header. */
  readonly #tlsHeaderReaders: PreAcceptDeadlines<HeaderReader>;
  /** With tls (no proxyProtocol): connections still in their handshake, not yet arrived. */
  readonly #handshaking: PreAcceptDeadlines<Socket<SocketStream>>;

  /** Not for users: `listen()` creates listeners (a `TypeError` otherwise). */
  constructor(token: typeof FROM_LISTEN, plan: ListenPlan) {
    if (token !== FROM_LISTEN) {
      throw new TypeError("new Listener() is not public: call listen(options) to get a Listener");
    }
    const { endpoint, proxyProtocol } = plan;
    const unixPath = endpoint.kind === "unix" ? endpoint.path : null;
    // PROXY protocol: the header comes before TLS, which its reader starts itself.
    const tls = proxyProtocol === null ? plan.tls : undefined;
    this.#headerReaders = new PreAcceptDeadlines(proxyProtocol?.timeout ?? Infinity, (reader) =>
      reader.headerTimedOut(),
    );
    this.#tlsHeaderReaders = new PreAcceptDeadlines(plan.handshakeTimeout, (reader) =>
      reader.handshakeTimedOut(),
    );
    this.#handshaking = new PreAcceptDeadlines(plan.handshakeTimeout, (socket) => {
      this.#handshakeErrors++;
      socket.terminate();
    });
    const headers = proxyProtocol && {
      plan: proxyProtocol,
      tls: plan.tls,
      unixPath,
      arrived: (s: SocketStream) => this.#arrived(s),
      rejected: () => this.#proxyHeaderErrors++,
      handshakeFailed: () => this.#handshakeErrors++,
      headerDeadlines: this.#headerReaders,
      handshakeDeadlines: this.#tlsHeaderReaders,
    };
    const handler: SocketHandler<SocketStream, "uint8array"> = {
      ...(headers ? proxyCallbacks : SocketStream[SOCKET_CALLBACKS]),
      binaryType: "uint8array",
      open: (socket) => {
        if (headers) (socket as Socket<unknown>).data = new HeaderReader(socket, headers);
        else socket.data = openSocketStream(socket, unixPath);
        if (tls === undefined && !headers) this.#arrived(socket.data);
        else if (tls !== undefined) this.#handshaking.add(socket);
      },
    };
    if (tls !== undefined) {
      handler.handshake = (socket, success) => {
        // Not pending: this listener terminated it (time limit, close), which Bun reports
        // as a failed handshake; the time limit counted it already.
        if (!this.#handshaking.delete(socket)) return;
        if (success) this.#arrived(socket.data);
        else {
          this.#handshakeErrors++;
          socket.terminate();
        }
      };
      handler.close = (socket, error) => {
        this.#handshaking.delete(socket);
        SocketStream[SOCKET_CALLBACKS].close(socket, error);
      };
    }
    // binaryType "uint8array" hands `data` a Uint8Array; Bun's option types assume Buffer.
    const socket = handler as unknown as SocketHandler<SocketStream>;
    // allowHalfOpen: else Bun closes both directions when the peer half-closes.
    let bun: SocketListener<unknown> & { port?: number };
    const tlsOption = tls === undefined ? {} : { tls };
    try {
      bun =
        endpoint.kind === "unix"
          ? Bun.listen<SocketStream>({
              unix: endpoint.path,
              ...tlsOption,
              allowHalfOpen: true,
              socket,
            })
          : Bun.listen<SocketStream>({
              hostname: endpoint.hostname,
              port: endpoint.port,
              ...tlsOption,
              allowHalfOpen: true,
              socket,
              // Honoured by Bun.listen although its types list it only for Bun.connect.
              ...({ reusePort: plan.reusePort } as object),
            });
    } catch (error) {
      throw endpointError("listen on", endpoint, error);
    }
    this.#bun = bun;
    this.#backlog = plan.backlog;
    if (endpoint.kind === "unix") {
      this.hostname = undefined;
      this.port = 0;
      this.unix = endpoint.path;
    } else {
      this.hostname = endpoint.hostname;
      this.port = bun.port ?? endpoint.port;
      this.unix = undefined;
    }
    this.address = formatEndpoint(
      endpoint.kind === "unix" ? endpoint : { ...endpoint, port: this.port },
    );
  }

  /**
   * Resolves with the next connection: one that is already waiting, or the next to arrive.
   * A cancellation point. Rejects with `ResourceClosedError` once the listener is closed.
   */
  accept(): Promise<SocketStream> {
    let task: Task;
    try {
      task = currentTask();
      if (this.#closed) throw new ResourceClosedError(`accept() on ${this} after close()`);
    } catch (error) {
      return Promise.reject(error);
    }
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    const waiting = this.#queue.shift();
    if (waiting !== undefined) return Promise.resolve(waiting);
    this.#acceptors.push(task);
    return parkChecked(task, this);
  }

  /**
   * Accepts connections forever, running `handler(stream)` for each as its own task (named
   * after the peer's address) in a pool the call owns, and closing the stream when the
   * handler ends, however it ends. See `ServeOptions` for `maxConnections` and `onError`.
   *
   * Cancelling the call (or the pool around it) closes the listener, cancels every handler
   * and closes every connection. If another task closes the listener, the call stops
   * accepting, waits for the running handlers and resolves. A handler's error (with
   * `onError: "propagate"`) cancels the rest and rejects the call with it.
   */
  serve(
    handler: (stream: SocketStream) => unknown,
    options?: Omit<ServeOptions, keyof WorkerOptions>, // workers listen themselves: serve() takes them
  ): Promise<void> {
    return serveListener(this, this.#counts, handler, options);
  }

  /**
   * Stops accepting: the port (or socket file) is released, tasks parked in `accept()` are
   * woken with `ResourceClosedError`, and connections nobody accepted yet are closed (also
   * those still in their TLS handshake or PROXY header).
   * Connections already accepted stay open. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed) return CLOSED;
    this.#closed = true;
    this.#bun.stop(false);
    const acceptors = this.#acceptors.splice(0);
    for (const task of acceptors) {
      wakeWithError(task, new ResourceClosedError(`accept() on ${this}: the listener was closed`));
    }
    for (const stream of this.#queue.splice(0)) void stream.close();
    // Not yet arrived either: without this they would stay open until their time limit.
    for (const reader of this.#headerReaders.drain()) reader.abandon();
    for (const reader of this.#tlsHeaderReaders.drain()) reader.abandon();
    for (const socket of this.#handshaking.drain()) socket.terminate();
    return CLOSED;
  }

  /** `await using listener = await listen(...)`: `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `for await (const stream of listener)`: `accept()` until the listener is closed. */
  [Symbol.asyncIterator](): AsyncIterator<SocketStream> {
    return {
      next: () =>
        this.accept().then(
          (stream) => ({ done: false, value: stream }),
          (error) => {
            if (this.#closed && error instanceof ResourceClosedError) return NO_MORE_CONNECTIONS;
            throw error;
          },
        ),
    };
  }

  /** The listener has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Connections closed without being handled: the accept queue was full (`backlog`), or
   * `serve` already ran `maxConnections` handlers.
   */
  get refusedConnections(): number {
    return this.#refused;
  }

  /**
   * Connections closed before any handler saw them because their PROXY protocol header was
   * missing, malformed or too slow, or came from a peer outside `trusted`.
   */
  get proxyHeaderErrors(): number {
    return this.#proxyHeaderErrors;
  }

  /**
   * Connections closed before any handler saw them because their TLS handshake failed or did
   * not succeed within `handshakeTimeout`.
   */
  get handshakeErrors(): number {
    return this.#handshakeErrors;
  }

  /**
   * Connections `serve` ended because their peer reset, vanished or stopped in the middle of
   * a message (see `ServeOptions.onError`), while the server went on.
   */
  get brokenConnections(): number {
    return this.#broken;
  }

  toString(): string {
    return `Listener(${this.address})`;
  }

  /** @internal Blocker: an `accept()` was cancelled. */
  abortWait(task: Task): void {
    const index = this.#acceptors.indexOf(task);
    if (index !== -1) this.#acceptors.splice(index, 1);
  }

  /** @internal */
  describeWait(): string {
    return `accept() on ${this}`;
  }

  /** A connection is ready (opened, and TLS handshake done): hand it over or queue it. */
  #arrived(stream: SocketStream): void {
    if (this.#closed) {
      void stream.close();
      return;
    }
    const acceptor = this.#acceptors.shift();
    if (acceptor !== undefined) wake(acceptor, stream);
    else if (this.#queue.length < this.#backlog) this.#queue.push(stream);
    else this.#counts.refuse(stream);
  }
}
