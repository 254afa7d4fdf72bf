/**
 * `SocketStream`: one TCP, TLS or unix connection as a task-friendly byte stream (trio's
 * `SocketStream`). The stream object is the connection's whole state and is what Bun's
 * `socket.data` points at, so a callback reaches it in one step.
 *
 * ## Receiving
 * The receiving side is a `Receiver` (shared with the in-memory streams): Bun's `data`
 * callback pushes each chunk into it, and it pauses the socket (`socket.pause()`: the kernel
 * buffer fills and TCP flow control slows the peer) while more than `RECEIVE_HIGH_WATER_MARK`
 * bytes sit unread. Every read (`receive`, the framing helpers, decoders) lives there.
 *
 * ## Sending
 * `socket.write` is unbuffered and may take only part of the data. Bytes a stream has
 * accepted but the socket has not taken yet live in one place, the `Outbox`
 * (`outbox.ts`), which also holds the write-coalescing policy: small `sendAll`s made in one
 * iteration of the loop go out in one `write` at its end. When the socket takes only part of
 * a write, the rest stays in the outbox and the next `sendAll` (or this one) parks until
 * Bun's `drain` callback has written it all, so the outbox never holds more than one
 * coalescing limit's worth plus one call's data. A `sendAll` cancelled while it waits leaves
 * the peer with part of the stream, so, as in trio, the stream can no longer send and the
 * rest is dropped.
 *
 * A byte reported as sent was handed to the kernel, or queued for the iteration's end; if
 * that queued write then fails, the next `sendAll` or `sendEof` rejects with
 * `BrokenResourceError` saying how many bytes were lost. The first failed write (`write`
 * returning -1) breaks the sending side for good.
 *
 * ## The sending side's states
 * `#send` is one of:
 * - `open` — `sendAll` may be called;
 * - `eof-queued` — `sendEof()` was called while the outbox still held bytes: the FIN
 *   (`socket.shutdown()`) follows when it drains;
 * - `eof-sent` — the FIN was sent;
 * - `cancelled` — a `sendAll` was cancelled midway: the rest was dropped;
 * - `broken` — a write failed or Bun reported the connection broken (`#ending.brokenBy` says
 *   why); `sendAll` and `sendEof` reject with `BrokenResourceError`, `close()` still succeeds.
 * Only `open` moves to another state, except `eof-queued` → `eof-sent`; `close()` is
 * orthogonal (`#closed`, which also ends receiving).
 *
 * Legal combinations with the outbox (`size`, `deferred`), the parked `#writer` and the
 * tasks waiting in `close()` (`#closers`):
 *
 * | `#send`        | outbox                  | `#writer` | `#closers`             |
 * | -------------- | ----------------------- | --------- | ---------------------- |
 * | open           | empty                   | null      | null                   |
 * | open           | deferred (iteration end)| null      | null                   |
 * | open           | waiting for drain       | a task    | null, or [] if closed  |
 * | open (closed)  | waiting for drain       | null      | tasks in close()       |
 * | eof-queued     | waiting for drain       | null      | null, or tasks         |
 * | eof-sent       | empty                   | null      | null                   |
 * | cancelled      | empty                   | null      | null                   |
 * | broken         | empty                   | null      | null                   |
 *
 * `#unreportedLoss > 0` only with `broken` (or the socket closed): queued bytes the socket
 * refused, reported (and reset) by the next `sendAll`/`sendEof`.
 *
 * ## Closing
 * `close()` lets the outbox drain, then closes (`socket.close()`: see `#shutDown`; never
 * `end(data)`, which drops the tail of a large final chunk). It never throws: if waiting
 * for that flush is cancelled, the connection is aborted (reset) instead. Bun runs the
 * `close` callback synchronously inside `close()`/`terminate()`, so every state change is made
 * before either is called.
 */
import type { Socket, SocketHandler } from "bun";
import { currentTask, maybeCurrentTask } from "../core/context.ts";
import {
  AT_ITERATION_END,
  type AtIterationEnd,
  currentIteration,
  deferToIterationEnd,
} from "../core/iteration-end.ts";
import {
  type Blocker,
  checkCancelled,
  park,
  refuseWait,
  wake,
  wakeWithError,
} from "../core/park.ts";
import { TASK_NAME, type Task, type TaskNamer } from "../core/task.ts";
import {
  BrokenResourceError,
  CancelledError,
  ResourceBusyError,
  ResourceClosedError,
} from "../errors.ts";
import type { ByteStream } from "./byte-stream.ts";
import type { Decoder } from "./decoder.ts";
import { formatAddress } from "./endpoint.ts";
import { Outbox, Written } from "./outbox.ts";
import { BrokenConnectionError, withoutStack } from "./peer-errors.ts";
import { type ReceiveLineOptions, Receiver, type ReceiveTransport } from "./receiver.ts";
import { sendData } from "./send-data.ts";
import {
  HELD_BYTES,
  ON_READER_IDLE,
  PAUSE_READING,
  READER_IDLE,
  RESUME_READING,
  SOCKET_CALLBACKS,
} from "./transport-symbols.ts";

/** The sending side's state (see the table above). */
type SendState = "open" | "eof-queued" | "eof-sent" | "cancelled" | "broken";

/**
 * @internal What `sendAll`, `sendEof` and `close` return when there is nothing to wait for:
 * one shared, already resolved promise, by which `serve` tells a `close()` that finished at
 * once (its connection then ends without a wait).
 */
export const SENT: Promise<void> = Promise.resolve();

/**
 * How long a socket closed after a cancelled `sendAll` may stay open (see `#shutDown`) before
 * it is reset. The peer already has a truncated stream; one that is reading takes the last
 * bytes and answers our FIN within a round trip or two, and one that stopped reading must not
 * pin a file descriptor (and memory) for ever. 5 s is nginx's `lingering_timeout` default.
 */
const CLOSE_LINGER_MS = 5000;

/** Only the library makes streams (`openSocketStream`): `new SocketStream()` is a TypeError. */
const FROM_OPEN = Symbol("openSocketStream()");

/** The Bun socket callbacks every stream shares (`socket.data` is the stream). */
type StreamCallbacks = Required<
  Pick<SocketHandler<SocketStream, "uint8array">, "data" | "drain" | "end" | "close" | "error">
>;

/**
 * A connected byte stream over TCP, TLS or a unix socket, from `connect`, `listener.accept`
 * or `serve`. One task may receive while another sends; two receivers (or two senders) at
 * once is a `ResourceBusyError`. Every operation after `close()` is a `ResourceClosedError`;
 * a connection the peer reset is a `BrokenResourceError`.
 */
export class SocketStream
  implements Blocker, AtIterationEnd, ReceiveTransport, ByteStream, TaskNamer
{
  /** The peer's IP address (the socket path for unix sockets). */
  readonly remoteAddress: string;
  /** The peer's port (0 for unix sockets). */
  readonly remotePort: number;
  /** This side's port (0 for unix sockets). */
  readonly localPort: number;

  /**
   * @internal Blocker: socket I/O wakes the tasks parked here. Getters, not fields: every
   * connection has a stream, and two constant slots would cost each one 16 bytes.
   */
  get external(): boolean {
    return true;
  }

  /** @internal */
  get cancellable(): boolean {
    return true;
  }

  readonly #socket: Socket<SocketStream>;
  /** `peer` when it is not made from `remoteAddress` and `remotePort` on each read (see there). */
  readonly #peer: string | null = null;
  readonly #receiver: Receiver = new Receiver(this, true);
  /**
   * How the connection ended or broke, made when it first does: a stream keeps 12 slots
   * (JSC's 112-byte size class; 13 to 18 take 160 B), which counts at 10,000 connections.
   */
  #ending: Ending | null = null;

  /** Bytes accepted by `sendAll` that the socket has not taken yet. */
  readonly #outbox: Outbox;
  #send: SendState = "open";
  /** The task whose `sendAll` waits for the outbox to drain. */
  #writer: Task | null = null;

  #closed = false;
  /** Tasks in `close()` waiting for a `sendAll` of another task to flush; null otherwise. */
  #closers: Task[] | null = null;

  /** Not for users: `connect`, `listener.accept` and `serve` give streams (a `TypeError` otherwise). */
  constructor(
    token: typeof FROM_OPEN,
    socket: Socket<SocketStream>,
    unixPath: string | null,
    proxied?: ProxiedPeer,
  ) {
    if (token !== FROM_OPEN) {
      throw new TypeError(
        "new SocketStream() is not public: connect(), listener.accept() and serve() give streams",
      );
    }
    this.#socket = socket;
    this.#outbox = new Outbox();
    if (unixPath !== null) {
      this.remoteAddress = unixPath;
      this.remotePort = 0;
      this.localPort = 0;
      this.#peer = `unix:${unixPath}`;
    } else {
      // Captured now: Bun reports them as undefined once the socket has closed.
      this.remoteAddress = socket.remoteAddress;
      this.remotePort = socket.remotePort;
      this.localPort = socket.localPort;
      socket.setNoDelay(true);
    }
    if (proxied !== undefined) {
      this.remoteAddress = proxied.address;
      this.remotePort = proxied.port;
      this.#peer = proxied.peer;
    }
  }

  /** @internal Bun callbacks for every stream socket; `listen`/`connect` add `open`. */
  static readonly [SOCKET_CALLBACKS]: StreamCallbacks = {
    data: (socket, chunk) => socket.data.#onData(chunk),
    drain: (socket) => socket.data.#onDrain(),
    end: (socket) => socket.data.#onEnd(),
    // A client socket can close (or fail) before `open` made its stream.
    close: (socket, error) => {
      const stream: SocketStream | undefined = socket.data;
      if (stream !== undefined) stream.#onClose(error);
    },
    error: (socket, error) => {
      const stream: SocketStream | undefined = socket.data;
      if (stream !== undefined) stream.#onError(error);
    },
  };

  /**
   * The peer's address as `host:port` (`[v6]:port`, `unix:path`), for logs and task names.
   * Made when read, for TCP: kept, with its parts (two more strings), it made each served
   * connection's live heap 45 bytes larger (1,146 against 1,101, measured), for a debugger
   * or an error message to read it, if ever.
   */
  get peer(): string {
    return this.#peer ?? formatAddress(this.remoteAddress, this.remotePort);
  }

  /** @internal TaskNamer: a connection's task is named after its peer, when the name is read. */
  [TASK_NAME](): string {
    return this.peer;
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Resolves with the next bytes: at least 1, at most `maxBytes` (default 65536). An empty
   * array means the peer has finished sending (EOF); later calls return empty arrays too.
   * A cancellation point. Rejects with `BrokenResourceError` if the connection broke (after
   * the bytes that arrived before), `ResourceBusyError` if another task is receiving,
   * `ResourceClosedError` after `close()`.
   */
  receive(maxBytes?: number): Promise<Uint8Array> {
    return this.#receiver.receive(maxBytes);
  }

  /**
   * Resolves with exactly `n` bytes (at most `maxFrameLength`, else a `RangeError`). If the
   * peer finishes sending first, rejects with `IncompleteReadError` whose `partial` holds the
   * bytes that did arrive. A cancellation point; a cancelled call leaves the bytes it had
   * gathered in the stream for the next read.
   */
  receiveExactly(n: number): Promise<Uint8Array> {
    return this.#receiver.receiveExactly(n);
  }

  /**
   * Resolves with the bytes up to and including the first `delimiter` (a string is UTF-8
   * encoded), which must end within the first `maxBytes` bytes (default 65536, or
   * `maxFrameLength` if lower; at most `maxFrameLength`): otherwise rejects with a
   * `GiambioError` and leaves the bytes in the stream. If the peer finishes sending first,
   * rejects with `IncompleteReadError` carrying what arrived. A cancellation point; a
   * cancelled call leaves the bytes in the stream.
   */
  receiveUntil(delimiter: Uint8Array | string, maxBytes?: number): Promise<Uint8Array> {
    return this.#receiver.receiveUntil(delimiter, maxBytes);
  }

  /**
   * The next frame of `decoder` (see `Decoder`): resolves at once when one is buffered, else
   * waits for bytes. `undefined` at EOF between frames; `IncompleteReadError` at EOF inside
   * one; `FrameTooLongError` when more than `maxFrameLength` bytes are buffered with no frame.
   * A cancellation point; a cancelled call consumes nothing.
   */
  receiveFrame<F>(decoder: Decoder<F>): Promise<F | undefined> {
    return this.#receiver.receiveFrame(decoder);
  }

  /** `for await (const frame of stream.frames(decoder))`: `receiveFrame(decoder)` until EOF. */
  frames<F>(decoder: Decoder<F>): AsyncIterableIterator<F> {
    return this.#receiver.frames(decoder);
  }

  /** `for await (const batch of stream.frameBatches(decoder))`: every whole frame buffered, as an array. */
  frameBatches<F>(decoder: Decoder<F>): AsyncIterableIterator<F[]> {
    return this.#receiver.frameBatches(decoder);
  }

  /**
   * The next line (ending in `\n` or `\r\n`, stripped), decoded as UTF-8; `undefined` at EOF
   * between lines. A line over `maxLength` bytes (default `maxFrameLength`) rejects with
   * `LineTooLongError`, and the next call returns the line after it.
   */
  receiveLine(options?: ReceiveLineOptions): Promise<string | undefined> {
    return this.#receiver.receiveLine(options);
  }

  /**
   * The largest frame this stream reads in one piece (default 1 MiB): the limit on
   * `receiveExactly(n)`, `receiveUntil`'s `maxBytes` and a decoder's frames, so that a
   * peer's declared length cannot make the process buffer without bound.
   */
  get maxFrameLength(): number {
    return this.#receiver.maxFrameLength;
  }

  set maxFrameLength(value: number) {
    this.#receiver.maxFrameLength = value;
  }

  /** @internal Bytes this stream holds in memory: received and unread, plus accepted and unsent. */
  get [HELD_BYTES](): number {
    return this.#receiver.buffered + this.#outbox.size();
  }

  /** @internal The reader is parked waiting for the first byte of a message. */
  get [READER_IDLE](): boolean {
    return this.#receiver.readerIdle;
  }

  /** @internal Called as the reader starts to wait idle (see `READER_IDLE`): a graceful drain. */
  set [ON_READER_IDLE](callback: (() => void) | null) {
    this.#receiver.onIdle = callback;
  }

  /** `for await (const chunk of stream)`: `receive()` until EOF. Breaking out leaves the stream open. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#receiver.chunks();
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends every byte of `data` (a string is UTF-8 encoded). Resolves once all of it has
   * been handed to the kernel, or — for small writes of a stream that writes several times
   * per iteration of the loop — once it is queued to be handed over, together, at the end of
   * this iteration (see "Sending" above). While the socket is full it waits for Bun's `drain`
   * (nothing is buffered without bound). A cancellation point. If cancelled midway, part of the data may
   * have been sent and the stream can no longer send (later calls: `BrokenResourceError`).
   * Rejects with `BrokenResourceError` if the peer reset the connection or is gone,
   * `ResourceBusyError` if another task is sending, `ResourceClosedError` after `sendEof()`
   * or `close()`.
   */
  sendAll(data: Uint8Array | string): Promise<void> {
    let task: Task;
    let bytes: Uint8Array;
    try {
      task = currentTask();
      bytes = sendData(data);
      this.#checkSendable("sendAll");
    } catch (error) {
      return Promise.reject(error);
    }
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    if (bytes.length === 0) return SENT;
    switch (this.#outbox.send(this.#socket, bytes, currentIteration(task))) {
      case Written.Done:
        return SENT;
      case Written.Deferred:
        if (!deferToIterationEnd(task, this)) this.#flush();
        return SENT;
      case Written.Failed:
        // This call reports its own bytes; any queued before them are a loss to report too.
        this.#writeFailed();
        this.#endingState().unreportedLoss += this.#outbox.clear() - bytes.length;
        return Promise.reject(this.#brokenError());
    }
    this.#writer = task;
    return park(task, this);
  }

  /**
   * Half-closes the connection: tells the peer no more data will come (TCP FIN) while
   * receiving goes on. Later `sendAll` calls reject with `ResourceClosedError`; calling it
   * again does nothing. A cancellation point. Rejects with `BrokenResourceError` once the
   * sending side is broken (a failed write, a reset), `ResourceClosedError` after `close()`.
   */
  sendEof(): Promise<void> {
    let task: Task;
    try {
      task = currentTask();
      if (this.#closed) throw this.#closedError("sendEof");
      if (this.#writer !== null) throw this.#busyError("sendEof", this.#writer);
    } catch (error) {
      return Promise.reject(error);
    }
    const cancelled = checkCancelled(task);
    if (cancelled !== null) return cancelled;
    // As trio: no FIN can be sent on a broken connection (this also reports any lost bytes).
    if (this.#send === "broken") return Promise.reject(this.#brokenError());
    if (this.#send === "open") {
      this.#send = "eof-queued";
      // What sendAll accepted goes out first; the FIN follows once the outbox is empty.
      if (this.#outbox.isDeferred()) this.#flush();
      if (this.#outbox.size() === 0) this.#shutdownWrites();
    }
    // Bytes an earlier sendAll queued and the socket refused: say so rather than succeed.
    if (this.#unreportedLoss > 0) return Promise.reject(this.#brokenError());
    return SENT;
  }

  // ---------------------------------------------------------------- closing

  /**
   * Closes the stream: lets a `sendAll` in progress (in another task) hand its data to the
   * kernel, then closes the connection. Idempotent. Never throws: if the wait for that flush
   * is cancelled, the connection is aborted (reset) instead. A task parked in `receive` is
   * woken with `ResourceClosedError`.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#receiver.close();
      if (this.#outbox.isDeferred()) this.#flush();
      // With nothing unsent, closing never looks at the calling task: Bun callbacks (a
      // refused or abandoned connection) may call it.
      if (this.#outbox.size() === 0) {
        this.#shutDown();
        return SENT;
      }
      this.#closers = [];
    }
    const closers = this.#closers;
    if (closers === null) return SENT;
    const task = maybeCurrentTask();
    if (task === undefined) {
      // No task to wait in (called from outside giambio): do not leave the socket open.
      this.#abort();
      return SENT;
    }
    const refused = refuseWait(task);
    if (refused !== null) {
      this.#abort(); // cancelled (or misused): do not leave the socket open
      return refused.catch(ignoreCancelled);
    }
    closers.push(task);
    return park<void>(task, this).catch(ignoreCancelled);
  }

  /** `await using stream = ...`: `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  toString(): string {
    return `SocketStream(${this.peer})`;
  }

  // ---------------------------------------------------------------- Blocker

  /** @internal The task was cancelled while parked on this stream. */
  abortWait(task: Task): void {
    if (task === this.#writer) {
      // The peer now has an arbitrary prefix of what was sent: the stream is only good for
      // closing (as in trio), so what the socket has not taken is dropped, and a close()
      // does not wait for a peer that may never read it.
      this.#writer = null;
      this.#outbox.clear();
      if (this.#send === "open") this.#send = "cancelled";
      this.#unsentGone();
      return;
    }
    const closers = this.#closers;
    const index = closers === null ? -1 : closers.indexOf(task);
    if (index === -1) return;
    closers?.splice(index, 1);
    this.#abort();
  }

  /** @internal */
  describeWait(task: Task): string {
    const what = task === this.#writer ? "sendAll" : "close";
    return `${what}() on ${this}`;
  }

  // ---------------------------------------------------------------- Bun callbacks

  #onData(chunk: Uint8Array): void {
    if (this.#closed) {
      // Data for a stream nobody can read: reset, as the kernel does for a closed TCP socket.
      // (A TLS socket that allows half-open stays readable after end(); the peer would
      // otherwise keep writing into it, and never learn that its writes are lost.)
      if (chunk.length > 0 && !this.#socketClosed) this.#socket.terminate();
      return;
    }
    this.#receiver.push(chunk);
  }

  /** @internal ReceiveTransport: read backpressure. */
  [PAUSE_READING](): void {
    if (!this.#socketClosed) this.#socket.pause();
  }

  /** @internal */
  [RESUME_READING](): void {
    if (!this.#socketClosed) this.#socket.resume();
  }

  #onDrain(): void {
    if (this.#outbox.isWaitingForDrain()) this.#flush();
  }

  /** @internal AtIterationEnd: write what the iteration's `sendAll` calls left in the outbox. */
  [AT_ITERATION_END](): void {
    if (!this.#outbox.isDeferred() || this.#socketClosed) return;
    this.#afterWrite(this.#outbox.atIterationEnd(this.#socket));
  }

  #onEnd(): void {
    this.#receiver.end();
  }

  #onClose(error: Error | undefined): void {
    this.#endingState().socketClosed = true;
    if (error !== undefined && !this.#closed) this.#connectionFailed(error);
    this.#receiver.end();
    this.#failWriter();
  }

  #onError(error: Error): void {
    this.#connectionFailed(error);
    this.#failWriter();
  }

  /** Bun reports the connection broken: both directions fail (reads after the bytes that came). */
  #connectionFailed(error: Error): void {
    this.#setBroken(error);
    this.#receiver.fail(SocketStream.#readFailure);
  }

  // ---------------------------------------------------------------- internals

  /** Bun closed the socket; it must not be touched any more. */
  get #socketClosed(): boolean {
    return this.#ending?.socketClosed === true;
  }

  /**
   * Bytes that `sendAll` reported as sent (queued for the iteration's end) and that could
   * not be written; the next `sendAll` or `sendEof` reports them, then this is reset.
   */
  get #unreportedLoss(): number {
    const ending = this.#ending;
    return ending === null ? 0 : ending.unreportedLoss;
  }

  #endingState(): Ending {
    if (this.#ending === null) {
      this.#ending = { socketClosed: false, brokenBy: null, unreportedLoss: 0 };
    }
    return this.#ending;
  }

  #checkSendable(op: string): void {
    // The common case in four field reads: open, not closed, nobody waiting, nothing ended.
    if (this.#send === "open" && !this.#closed && this.#writer === null && this.#ending === null) {
      return;
    }
    if (this.#closed) throw this.#closedError(op);
    const writer = this.#writer;
    if (writer !== null) throw this.#busyError(op, writer);
    const state = this.#send;
    if (state === "eof-queued" || state === "eof-sent") {
      throw new ResourceClosedError(`${op}() on ${this} after sendEof(): the sending side is shut`);
    }
    if (state === "cancelled") {
      throw new BrokenResourceError(
        `${op}() on ${this} after an earlier sendAll() was cancelled midway: the peer may have part of that data, so this stream cannot send any more`,
      );
    }
    if (this.#send === "broken" || this.#socketClosed || this.#unreportedLoss > 0) {
      throw this.#brokenError();
    }
  }

  /** Writes the outbox now, in one `write` call. */
  #flush(): void {
    if (this.#socketClosed) return;
    this.#afterWrite(this.#outbox.flush(this.#socket));
  }

  /** Acts on a flush: the outbox emptied, waits for `drain`, or the socket refused it. */
  #afterWrite(written: Written): void {
    if (written === Written.Done) this.#outboxEmptied();
    else if (written === Written.Failed) {
      this.#writeFailed();
      this.#failWriter();
    }
  }

  /** `socket.write` returned -1: the socket is gone, and the stream broken for good. */
  #writeFailed(): void {
    this.#setBroken(new Error("a write failed: the socket is closed or the peer is gone"));
  }

  /** The outbox has drained: the waiting `sendAll`, a pending FIN and `close()` go on. */
  #outboxEmptied(): void {
    const writer = this.#writer;
    this.#writer = null;
    if (writer !== null) wake(writer);
    this.#shutdownWrites();
    this.#unsentGone();
  }

  /** The socket cannot take the outbox any more: drop it and fail the waiting `sendAll`. */
  #failWriter(): void {
    const lost = this.#outbox.clear();
    if (lost === 0) return;
    const writer = this.#writer;
    this.#writer = null;
    // A waiting sendAll reports the failure itself; otherwise the bytes were queued by
    // calls that already returned, and the next sendAll or sendEof must say so.
    // No stack for it (see `withoutStack`).
    if (writer !== null) wakeWithError(writer, withoutStack(SocketStream.#sendFailure, this));
    else this.#endingState().unreportedLoss += lost;
    this.#unsentGone();
  }

  /** The pending writes are over (written, or failed): a waiting `close()` goes on. */
  #unsentGone(): void {
    const closers = this.#closers;
    if (closers === null) return;
    this.#closers = null;
    this.#shutDown();
    for (const task of closers) wake(task);
  }

  /** Half-close: FIN after everything written so far. */
  #shutdownWrites(): void {
    if (this.#send !== "eof-queued") return;
    this.#send = "eof-sent";
    if (!this.#socketClosed) this.#socket.shutdown();
  }

  /**
   * Graceful close: FIN (and TLS close_notify) after everything written so far. Not
   * `socket.end()`: over TLS that keeps the file descriptor until the peer answers with its
   * own close_notify, which a silent peer never does. `close()` releases it at once.
   *
   * After a `sendAll` cancelled midway, though, Bun may still hold ciphertext the kernel
   * refused, and `close()` would then wait for the peer to read it, without bound and beyond
   * reach (`terminate()` does nothing once `close()` has detached the socket). So that case
   * sends the FIN, keeps the socket, and resets it if it is still open after `CLOSE_LINGER_MS`.
   */
  #shutDown(): void {
    if (this.#socketClosed) return;
    if (this.#send !== "cancelled") this.#socket.close();
    else this.#shutDownLingering();
  }

  // The closures of the rare paths live in methods of their own: a closure anywhere in a
  // method makes JavaScriptCore allocate the method's scope on every call, taken path or not
  // (a close, a reset of thousands of connections at once).

  /** `#shutDown` after a `sendAll` cancelled midway: FIN now, a reset after the linger. */
  #shutDownLingering(): void {
    const socket = this.#socket;
    socket.shutdown();
    const linger = setTimeout(() => {
      if (!this.#socketClosed) socket.terminate();
    }, CLOSE_LINGER_MS);
    linger.unref();
  }

  // One function each for every stream, not a closure made at each reset.
  static readonly #readFailure = (transport: ReceiveTransport): Error =>
    (transport as SocketStream).#brokenError(false);
  static readonly #sendFailure = (stream: SocketStream): BrokenResourceError =>
    stream.#brokenError();

  /** Forceful close: drop the unsent bytes and reset the connection. */
  #abort(): void {
    this.#closed = true;
    this.#receiver.close();
    const writer = this.#writer;
    this.#writer = null;
    this.#outbox.clear();
    if (writer !== null) {
      wakeWithError(
        writer,
        new ResourceClosedError(`sendAll() on ${this}: the stream was aborted by close()`),
      );
    }
    const closers = this.#closers;
    this.#closers = null;
    if (closers !== null) for (const task of closers) wake(task);
    if (!this.#socketClosed) this.#socket.terminate();
  }

  #setBroken(cause: Error): void {
    if (this.#send === "open") this.#send = "broken";
    const ending = this.#endingState();
    if (ending.brokenBy === null) ending.brokenBy = cause;
  }

  /** The connection's failure, as an error; it reports (once) queued bytes that were lost. */
  #brokenError(reportLoss = true): BrokenResourceError {
    const ending = this.#ending;
    const cause = ending === null ? null : ending.brokenBy;
    const lost = reportLoss && ending !== null ? ending.unreportedLoss : 0;
    if (lost > 0 && ending !== null) ending.unreportedLoss = 0;
    return new BrokenConnectionError(this, cause, lost);
  }

  #closedError(op: string): ResourceClosedError {
    return new ResourceClosedError(`${op}() on ${this} after close()`);
  }

  #busyError(op: string, other: Task): ResourceBusyError {
    return new ResourceBusyError(
      `${op}() on ${this} while task '${other.name}' is sending on it: one task at a time may do that`,
    );
  }
}

/** A stream's end of life: allocated when the socket closes or the connection breaks. */
interface Ending {
  /** Bun closed the socket. */
  socketClosed: boolean;
  /** What broke the connection first (reset, broken pipe, TLS failure), or null. */
  brokenBy: Error | null;
  /** See `#unreportedLoss`. */
  unreportedLoss: number;
}

/** `close()` never throws a cancellation: a cancelled wait for the flush aborts instead. */
function ignoreCancelled(error: unknown): void {
  if (!(error instanceof CancelledError)) throw error;
}

/** The client a PROXY protocol header named, reported instead of the socket's own peer. */
export interface ProxiedPeer {
  address: string;
  port: number;
  peer: string;
}

/**
 * @internal The stream of a socket Bun has opened: for `listen`/`connect` (in Bun's `open`
 * callback), the PROXY protocol reader, and tests over a fake socket.
 */
export function openSocketStream(
  socket: Socket<SocketStream>,
  unixPath: string | null,
  proxied?: ProxiedPeer,
): SocketStream {
  return new SocketStream(FROM_OPEN, socket, unixPath, proxied);
}
