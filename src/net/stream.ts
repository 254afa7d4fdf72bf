/**
 * `SocketStream`: one TCP, TLS or unix connection as a task-friendly byte stream (trio's
 * `SocketStream`). The stream object is the connection's whole state and is what Bun's
 * `socket.data` points at, so a callback reaches it in one step.
 *
 * ## Receiving
 * Bun's `data` callback hands over a fresh buffer per read. If a task is parked in
 * `receive()`, the callback gives it the chunk directly (no copy, no buffering); otherwise
 * the chunk joins the `ReceiveBuffer`. When more than `RECEIVE_HIGH_WATER_MARK` bytes sit
 * unread the socket is paused (`socket.pause()`: the kernel buffer fills and TCP flow control
 * slows the peer), and it is resumed once the reader has taken them down to half of that.
 *
 * ## Sending
 * `socket.write` is unbuffered and may take only part of the data. Bytes a stream has
 * accepted but the socket has not taken yet live in one place, the *outbox*.
 *
 * Writes are coalesced where that saves work. A stream starts out writing each `sendAll` at
 * once. When it sees a second `sendAll` within one iteration of the loop (a reply, then a
 * prompt), it switches to coalescing: small `sendAll`s (up to `COALESCE_LIMIT` in all) only
 * add to the outbox and return, and the outbox is written at the end of the iteration — one
 * `write` syscall for all of them, and nothing waits longer than the iteration that produced
 * it. A stream whose iterations keep bringing a single write goes back to writing at once,
 * so a one-write protocol pays nothing for this. Larger data, and code running outside the
 * loop's steps, are always written at once.
 *
 * When the socket takes only part of a write, the rest stays in the outbox and the next
 * `sendAll` (or this one) parks until Bun's `drain` callback has written it all, so the
 * outbox never holds more than one limit's worth plus one call's data. A `sendAll` cancelled
 * while it waits leaves the peer with part of the stream, so, as in trio, the stream can no
 * longer send and the rest is dropped.
 *
 * ## Closing
 * `close()` lets the outbox drain, then closes (`socket.end()`, never
 * `end(data)`, which drops the tail of a large final chunk). It never throws: if waiting
 * for that flush is cancelled, the connection is aborted (reset) instead. Bun runs the
 * `close` callback synchronously inside `end()`/`terminate()`, so every state change is made
 * before either is called.
 */
import type { Socket, SocketHandler } from "bun";
import { checkInteger } from "../arguments.ts";
import { currentTask, maybeCurrentTask } from "../core/context.ts";
import {
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
import type { Task } from "../core/task.ts";
import {
  BrokenResourceError,
  CancelledError,
  describe,
  GiambioError,
  IncompleteReadError,
  ResourceBusyError,
  ResourceClosedError,
} from "../errors.ts";
import { formatAddress } from "./endpoint.ts";
import { raisedByPeerOf } from "./peer-errors.ts";
import { ReceiveBuffer } from "./receive-buffer.ts";

/**
 * Unread bytes above which a stream stops reading from its socket until the handler has
 * read them down to half of this: 64 KiB. A slow reader therefore never makes the process
 * buffer without bound; the kernel's buffers fill and TCP slows the sender. (A framing helper
 * waiting for more than this, e.g. `receiveExactly(1 << 20)`, raises it for its duration.)
 */
export const RECEIVE_HIGH_WATER_MARK = 64 * 1024;

/**
 * How many bytes `sendAll` may leave in the outbox for the end of the iteration. Above it,
 * the bytes are written at once: coalescing saves syscalls on small writes, not on bulk.
 */
export const COALESCE_LIMIT = 64 * 1024;

/** Single-chunk flushes in a row after which a coalescing stream goes back to writing at once. */
const SINGLE_FLUSHES_BEFORE_DIRECT = 8;

/** `receive()`'s default `maxBytes`. */
const DEFAULT_MAX_BYTES = 65536;

const EMPTY = new Uint8Array(0);
const SENT: Promise<void> = Promise.resolve();
const AT_EOF: Promise<Uint8Array> = Promise.resolve(EMPTY);
const END_OF_STREAM: IteratorResult<Uint8Array> = { done: true, value: undefined };
const encoder = new TextEncoder();

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
  implements Blocker, AtIterationEnd, AsyncDisposable, AsyncIterable<Uint8Array>
{
  /** The peer's IP address (the socket path for unix sockets). */
  readonly remoteAddress: string;
  /** The peer's port (0 for unix sockets). */
  readonly remotePort: number;
  /** This side's port (0 for unix sockets). */
  readonly localPort: number;

  /** @internal Blocker: socket I/O wakes the tasks parked here. */
  readonly external = true;
  /** @internal */
  readonly cancellable = true;

  readonly #socket: Socket<SocketStream>;
  readonly #peer: string;
  readonly #received = new ReceiveBuffer();
  /** Pause reading above this many unread bytes. */
  #highWaterMark = RECEIVE_HIGH_WATER_MARK;
  #paused = false;
  /** The peer will send nothing more (FIN received, or the socket closed). */
  #eof = false;
  /** Why the connection broke (reset, broken pipe, TLS failure), or null. */
  #brokenBy: string | null = null;
  #brokenCause: unknown;
  /** Bun closed the socket; it must not be touched any more. */
  #socketClosed = false;

  /** The task receiving right now (parked in `receive`, or inside a framing helper). */
  #reader: Task | null = null;
  /** > 0: `receive(max)` is parked and takes the next chunk; 0: a framing helper is. */
  #readerMax = 0;

  /** Bytes accepted by `sendAll` that the socket has not taken yet, oldest first. */
  readonly #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  /** The outbox waits for the end of the loop's iteration (else, if not empty, for `drain`). */
  #flushDeferred = false;
  /** Small writes are coalesced per iteration (else written at once). */
  #coalescing = false;
  /** The iteration of the last write made at once, to notice a second one in the same. */
  #lastDirectWrite = -1;
  /** Flushes in a row that had a single chunk to write (nothing coalesced). */
  #singleFlushes = 0;
  /** The task whose `sendAll` waits for the outbox to drain. */
  #writer: Task | null = null;
  #eofSent = false;
  /** `shutdown()` has been called (after the outbox drained). */
  #shutdownDone = false;
  #sendCancelled = false;

  #closed = false;
  /** Tasks in `close()` waiting for a `sendAll` of another task to flush; null otherwise. */
  #closers: Task[] | null = null;

  /**
   * @internal Created by `listen`/`connect` in Bun's `open` callback. `proxied`: the client a
   * PROXY protocol header named, reported instead of the socket's own peer.
   */
  constructor(
    socket: Socket<SocketStream>,
    unixPath: string | null,
    proxied?: { address: string; port: number; peer: string },
  ) {
    this.#socket = socket;
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
      this.#peer = formatAddress(this.remoteAddress, this.remotePort);
      socket.setNoDelay(true);
    }
    if (proxied !== undefined) {
      this.remoteAddress = proxied.address;
      this.remotePort = proxied.port;
      this.#peer = proxied.peer;
    }
  }

  /** @internal Bun callbacks for every stream socket; `listen`/`connect` add `open`. */
  static readonly callbacks: StreamCallbacks = {
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
   * @internal The reader waits for the first byte of its next message: parked in `receive`
   * or a framing helper with nothing buffered. A graceful shutdown closes such connections.
   */
  get readerIdle(): boolean {
    return this.#reader !== null && this.#received.size === 0 && !this.#eof;
  }

  /** @internal Called as the reader starts to await a message (see `readerIdle`). */
  onReaderIdle: (() => void) | null = null;

  /** The peer's address as `host:port` (`[v6]:port`, `unix:path`), for logs and task names. */
  get peer(): string {
    return this.#peer;
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Resolves with the next bytes: at least 1, at most `maxBytes` (default 65536). An empty
   * array means the peer has finished sending (EOF); later calls return empty arrays too.
   * A cancellation point. Rejects with `BrokenResourceError` if the connection broke (after
   * the bytes that arrived before), `ResourceBusyError` if another task is receiving,
   * `ResourceClosedError` after `close()`.
   */
  receive(maxBytes: number = DEFAULT_MAX_BYTES): Promise<Uint8Array> {
    let task: Task;
    try {
      task = currentTask();
      if (maxBytes !== DEFAULT_MAX_BYTES) checkInteger("receive(maxBytes)", maxBytes, 1);
      this.#checkReceivable("receive");
    } catch (error) {
      return Promise.reject(error);
    }
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    if (this.#received.size > 0) return Promise.resolve(this.#take(maxBytes));
    if (this.#brokenBy !== null) return Promise.reject(this.#brokenError());
    if (this.#eof) return AT_EOF;
    this.#reader = task;
    this.#readerMax = maxBytes;
    this.onReaderIdle?.();
    return park(task, this);
  }

  /**
   * Resolves with exactly `n` bytes. If the peer finishes sending first, rejects with
   * `IncompleteReadError` whose `partial` holds the bytes that did arrive. A cancellation
   * point; a cancelled call leaves the bytes it had gathered in the stream for the next read.
   */
  async receiveExactly(n: number): Promise<Uint8Array> {
    const task = currentTask();
    checkInteger("receiveExactly(n)", n, 0);
    await this.#beginFraming(task, "receiveExactly");
    try {
      while (this.#received.size < n) await this.#moreBytes(task, n, `receiveExactly(${n})`);
      return this.#takeExactly(n);
    } finally {
      this.#endFraming(task);
    }
  }

  /**
   * Resolves with the bytes up to and including the first `delimiter` (a string is UTF-8
   * encoded), which must end within the first `maxBytes` bytes (default 65536): otherwise
   * rejects with a `GiambioError` and leaves the bytes in the stream. If the peer finishes
   * sending first, rejects with `IncompleteReadError` carrying what arrived. A cancellation
   * point; a cancelled call leaves the bytes in the stream.
   */
  async receiveUntil(
    delimiter: Uint8Array | string,
    maxBytes: number = DEFAULT_MAX_BYTES,
  ): Promise<Uint8Array> {
    const task = currentTask();
    const needle = typeof delimiter === "string" ? encoder.encode(delimiter) : delimiter;
    if (!(needle instanceof Uint8Array) || needle.length === 0) {
      throw new TypeError(
        `receiveUntil(delimiter) must be a non-empty string or Uint8Array, got ${describe(delimiter)}`,
      );
    }
    checkInteger("receiveUntil(delimiter, maxBytes)", maxBytes, needle.length);
    const what = `receiveUntil(${describe(delimiter)}, ${maxBytes})`;
    await this.#beginFraming(task, "receiveUntil");
    try {
      let from = 0;
      for (;;) {
        const at = this.#received.indexOf(needle, from);
        const end = at === -1 ? -1 : at + needle.length;
        if (end !== -1 && end <= maxBytes) return this.#takeExactly(end);
        if (end !== -1 || this.#received.size >= maxBytes) {
          throw new GiambioError(
            `${what} on ${this}: no delimiter within the first ${maxBytes} bytes; the bytes stay in the stream`,
          );
        }
        from = Math.max(0, this.#received.size - needle.length + 1);
        await this.#moreBytes(task, maxBytes, what);
      }
    } finally {
      this.#endFraming(task);
    }
  }

  /** `for await (const chunk of stream)`: `receive()` until EOF. Breaking out leaves the stream open. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return { next: () => this.receive().then(toIteratorResult) };
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
      bytes = typeof data === "string" ? encoder.encode(data) : data;
      if (!(bytes instanceof Uint8Array)) {
        throw new TypeError(
          `sendAll(data) must be a Uint8Array or a string, got ${describe(data)}`,
        );
      }
      this.#checkSendable("sendAll");
    } catch (error) {
      return Promise.reject(error);
    }
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    if (bytes.length === 0) return SENT;
    const waitingForDrain = this.#outboxBytes > 0 && !this.#flushDeferred;
    if (!waitingForDrain && this.#outboxBytes + bytes.length <= COALESCE_LIMIT) {
      if (this.#flushDeferred) {
        this.#addToOutbox(bytes);
        return SENT;
      }
      const iteration = currentIteration(task);
      if (iteration >= 0) {
        if (this.#coalescing || iteration === this.#lastDirectWrite) {
          this.#coalescing = true;
          this.#flushDeferred = deferToIterationEnd(task, this);
          this.#addToOutbox(bytes);
          return SENT;
        }
        this.#lastDirectWrite = iteration;
      }
    }
    if (this.#outboxBytes === 0) {
      // Nothing queued: write at once and keep only what the socket did not take.
      const written = this.#socket.write(bytes);
      if (written === bytes.length) return SENT;
      if (written < 0) return Promise.reject(this.#brokenError());
      this.#addToOutbox(bytes.subarray(written));
    } else {
      this.#addToOutbox(bytes);
      if (!waitingForDrain) {
        // Queued for the iteration's end, but this brings too much: write it all now.
        this.#flushDeferred = false;
        this.#flush();
        if (this.#outboxBytes === 0) return SENT;
        if (this.#brokenBy !== null || this.#socketClosed) {
          return Promise.reject(this.#brokenError());
        }
      }
    }
    this.#writer = task;
    return park(task, this);
  }

  /**
   * Half-closes the connection: tells the peer no more data will come (TCP FIN) while
   * receiving goes on. Later `sendAll` calls reject with `ResourceClosedError`; calling it
   * again does nothing. A cancellation point.
   */
  sendEof(): Promise<void> {
    let task: Task;
    try {
      task = currentTask();
      if (this.#closed) throw this.#closedError("sendEof");
      if (this.#writer !== null) throw this.#busyError("sendEof", this.#writer, "sending on");
    } catch (error) {
      return Promise.reject(error);
    }
    const cancelled = checkCancelled(task);
    if (cancelled !== null) return cancelled;
    if (!this.#eofSent) {
      this.#eofSent = true;
      // What sendAll accepted goes out first; the FIN follows once the outbox is empty.
      if (this.#flushDeferred) {
        this.#flushDeferred = false;
        this.#flush();
      }
      if (this.#outboxBytes === 0) this.#shutdownWrites();
    }
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
      this.#failReader(this.#closedError("receive"));
      if (this.#flushDeferred) {
        this.#flushDeferred = false;
        this.#flush();
      }
      // With nothing unsent, closing never looks at the calling task: Bun callbacks (a
      // refused or abandoned connection) may call it.
      if (this.#outboxBytes === 0) {
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
    return `SocketStream(${this.#peer})`;
  }

  // ---------------------------------------------------------------- Blocker

  /** @internal The task was cancelled while parked on this stream. */
  abortWait(task: Task): void {
    if (task === this.#reader) {
      // A framing helper clears `#reader` itself when it unwinds.
      if (this.#readerMax > 0) this.#reader = null;
      return;
    }
    if (task === this.#writer) {
      // The peer now has an arbitrary prefix of what was sent: the stream is only good for
      // closing (as in trio), so what the socket has not taken is dropped, and a close()
      // does not wait for a peer that may never read it.
      this.#writer = null;
      this.#outbox.length = 0;
      this.#outboxBytes = 0;
      this.#sendCancelled = true;
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
    const what = task === this.#reader ? "receive" : task === this.#writer ? "sendAll" : "close";
    return `${what}() on ${this}`;
  }

  // ---------------------------------------------------------------- Bun callbacks

  #onData(chunk: Uint8Array): void {
    if (this.#closed || chunk.length === 0) return;
    const reader = this.#reader;
    const max = this.#readerMax;
    if (reader !== null && max > 0) {
      // receive() is parked, so nothing is buffered: hand the chunk over directly.
      this.#reader = null;
      if (chunk.length <= max) {
        wake(reader, chunk);
        return;
      }
      this.#received.push(chunk.subarray(max));
      chunk = chunk.subarray(0, max);
      wake(reader, chunk);
    } else {
      this.#received.push(chunk);
      if (reader !== null) wake(reader);
    }
    if (!this.#paused && this.#received.size > this.#highWaterMark) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #onDrain(): void {
    if (this.#outboxBytes > 0 && !this.#flushDeferred) this.#flush();
  }

  /** @internal AtIterationEnd: write what the iteration's `sendAll` calls left in the outbox. */
  atIterationEnd(): void {
    if (!this.#flushDeferred) return;
    this.#flushDeferred = false;
    if (this.#outbox.length > 1) this.#singleFlushes = 0;
    else if (++this.#singleFlushes >= SINGLE_FLUSHES_BEFORE_DIRECT) {
      this.#coalescing = false;
      this.#singleFlushes = 0;
    }
    this.#flush();
  }

  #onEnd(): void {
    this.#eof = true;
    this.#noMoreBytes();
  }

  #onClose(error: Error | undefined): void {
    this.#socketClosed = true;
    if (error !== undefined && !this.#closed) this.#setBroken(error);
    this.#eof = true;
    this.#noMoreBytes();
    this.#failWriter();
  }

  #onError(error: Error): void {
    this.#setBroken(error);
    this.#noMoreBytes();
    this.#failWriter();
  }

  // ---------------------------------------------------------------- internals

  #checkReceivable(op: string): void {
    if (this.#closed) throw this.#closedError(op);
    const reader = this.#reader;
    if (reader !== null) throw this.#busyError(op, reader, "receiving from");
  }

  #checkSendable(op: string): void {
    if (this.#closed) throw this.#closedError(op);
    const writer = this.#writer;
    if (writer !== null) throw this.#busyError(op, writer, "sending on");
    if (this.#eofSent) {
      throw new ResourceClosedError(`${op}() on ${this} after sendEof(): the sending side is shut`);
    }
    if (this.#sendCancelled) {
      throw new BrokenResourceError(
        `${op}() on ${this} after an earlier sendAll() was cancelled midway: the peer may have part of that data, so this stream cannot send any more`,
      );
    }
    if (this.#brokenBy !== null || this.#socketClosed) throw this.#brokenError();
  }

  #take(max: number): Uint8Array {
    const chunk = this.#received.take(max);
    if (this.#paused && this.#received.size <= this.#highWaterMark / 2) this.#resumeReading();
    return chunk;
  }

  #takeExactly(n: number): Uint8Array {
    const bytes = this.#received.takeExactly(n);
    if (this.#paused && this.#received.size <= this.#highWaterMark / 2) this.#resumeReading();
    return bytes;
  }

  #resumeReading(): void {
    this.#paused = false;
    if (!this.#socketClosed) this.#socket.resume();
  }

  /** A framing helper starts: a cancellation point, then it owns the receiving side. */
  async #beginFraming(task: Task, op: string): Promise<void> {
    this.#checkReceivable(op);
    const refused = refuseWait(task);
    if (refused !== null) await refused;
    this.#reader = task;
    this.#readerMax = 0;
  }

  #endFraming(task: Task): void {
    if (this.#reader === task) this.#reader = null;
    if (this.#highWaterMark !== RECEIVE_HIGH_WATER_MARK) {
      this.#highWaterMark = RECEIVE_HIGH_WATER_MARK;
      if (!this.#paused && this.#received.size > this.#highWaterMark) {
        this.#paused = true;
        if (!this.#socketClosed) this.#socket.pause();
      }
    }
  }

  /** A framing helper needs more than is buffered: wait for it, or fail if none can come. */
  #moreBytes(task: Task, want: number, what: string): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError(what));
    if (this.#brokenBy !== null) return Promise.reject(this.#brokenError());
    if (this.#eof) {
      const got = this.#received.size;
      return Promise.reject(
        raisedByPeerOf(
          new IncompleteReadError(
            `${what} on ${this}: the peer stopped sending after ${got} bytes`,
            this.#received.takeAll(),
          ),
          this,
        ),
      );
    }
    if (want > this.#highWaterMark) this.#highWaterMark = want;
    if (this.#paused) this.#resumeReading();
    if (this.#received.size === 0) this.onReaderIdle?.();
    return park(task, this);
  }

  /** EOF or a broken connection: wake a parked reader, since no more bytes will come. */
  #noMoreBytes(): void {
    const reader = this.#reader;
    if (reader === null) return;
    if (this.#readerMax === 0) {
      wake(reader); // a framing helper looks at the state itself
      return;
    }
    this.#reader = null;
    if (this.#brokenBy !== null) wakeWithError(reader, this.#brokenError());
    else wake(reader, EMPTY);
  }

  #failReader(error: Error): void {
    const reader = this.#reader;
    if (reader === null) return;
    if (this.#readerMax > 0) this.#reader = null;
    wakeWithError(reader, error);
  }

  /** Adds bytes to the outbox, without copying them (they are copied once, when written). */
  #addToOutbox(bytes: Uint8Array): void {
    this.#outbox.push(bytes);
    this.#outboxBytes += bytes.length;
  }

  /**
   * Writes the outbox, in one `write` call. If the socket takes it all, the outbox is empty
   * and whoever waited for that goes on; if it takes part, the rest waits for `drain`.
   */
  #flush(): void {
    if (this.#outboxBytes === 0 || this.#socketClosed) return;
    const outbox = this.#outbox;
    const bytes =
      outbox.length === 1 ? (outbox[0] as Uint8Array) : concat(outbox, this.#outboxBytes);
    const written = this.#socket.write(bytes);
    if (written === bytes.length) {
      this.#outbox.length = 0;
      this.#outboxBytes = 0;
      this.#outboxEmptied();
    } else if (written >= 0) {
      this.#outbox.length = 0;
      this.#outbox.push(bytes.subarray(written));
      this.#outboxBytes = bytes.length - written;
    } else {
      this.#failWriter();
    }
  }

  /** The outbox has drained: the waiting `sendAll`, a pending FIN and `close()` go on. */
  #outboxEmptied(): void {
    const writer = this.#writer;
    this.#writer = null;
    if (writer !== null) wake(writer);
    if (this.#eofSent) this.#shutdownWrites();
    this.#unsentGone();
  }

  /** The socket cannot take the outbox any more: drop it and fail the waiting `sendAll`. */
  #failWriter(): void {
    this.#flushDeferred = false;
    if (this.#outboxBytes === 0) return;
    this.#outbox.length = 0;
    this.#outboxBytes = 0;
    const writer = this.#writer;
    this.#writer = null;
    if (writer !== null) wakeWithError(writer, this.#brokenError());
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
    if (this.#shutdownDone) return;
    this.#shutdownDone = true;
    if (!this.#socketClosed) this.#socket.shutdown();
  }

  /** Graceful close: FIN after everything written so far. */
  #shutDown(): void {
    this.#received.clear();
    if (!this.#socketClosed) this.#socket.end();
  }

  /** Forceful close: drop the unsent bytes and reset the connection. */
  #abort(): void {
    this.#closed = true;
    this.#received.clear();
    const writer = this.#writer;
    this.#writer = null;
    this.#outbox.length = 0;
    this.#outboxBytes = 0;
    this.#flushDeferred = false;
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
    if (this.#brokenBy !== null) return;
    const code = (cause as { code?: unknown }).code;
    this.#brokenBy =
      code === "ECONNRESET"
        ? "connection reset by peer (ECONNRESET)"
        : code === "EPIPE"
          ? "the peer is gone (EPIPE)"
          : cause.message;
    this.#brokenCause = cause;
  }

  #brokenError(): BrokenResourceError {
    const why = this.#brokenBy ?? "the connection was closed";
    const error = new BrokenResourceError(`the connection to ${this.#peer} is broken: ${why}`);
    if (this.#brokenCause !== undefined) error.cause = this.#brokenCause;
    return raisedByPeerOf(error, this);
  }

  #closedError(op: string): ResourceClosedError {
    return new ResourceClosedError(`${op}() on ${this} after close()`);
  }

  #busyError(op: string, other: Task, doing: "receiving from" | "sending on"): ResourceBusyError {
    return new ResourceBusyError(
      `${op}() on ${this} while task '${other.name}' is ${doing} it: one task at a time may do that`,
    );
  }
}

function toIteratorResult(chunk: Uint8Array): IteratorResult<Uint8Array> {
  return chunk.length === 0 ? END_OF_STREAM : { done: false, value: chunk };
}

function ignoreCancelled(error: unknown): void {
  if (!(error instanceof CancelledError)) throw error;
}

/** The chunks of an outbox as one buffer, so that they go out in one `write` call. */
function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}
