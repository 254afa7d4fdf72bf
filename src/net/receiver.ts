/**
 * The receiving half of a byte stream: the `ReceiveBuffer`, read backpressure, and every
 * way to read — `receive`, `receiveExactly`, `receiveUntil`, `receiveFrame`, `frames`,
 * `frameBatches`, `receiveLine`. One implementation, shared by `SocketStream` and the in-memory streams;
 * the transport under it only pushes chunks, reports EOF or a failure, and pauses or
 * resumes delivery when asked.
 *
 * ## Reads that need not wait do not wait
 * When the buffer already holds the answer, a read returns an already-resolved promise: no
 * async function, no inner await, no copy when the answer lies in one chunk (except frames
 * of up to 32 bytes, which cost less to copy than to view: see receive-buffer.ts). It still
 * checks for cancellation (the checkpoint rule: operations that need not wait check
 * cancellation without yielding). Only a read that must wait for bytes enters the async slow path, which
 * owns the receiving side until it completes (another reader meanwhile: `ResourceBusyError`).
 *
 * ## Bounded buffering
 * Above `highWaterMark` unread bytes the transport is paused, and resumed once the reader has
 * taken them down to half of that. A read that needs more than that in one piece raises the
 * mark for its duration, never above the stream's `maxFrameLength` (+1, to tell a frame that
 * is too long): a peer's declared length cannot make the process buffer without bound.
 *
 * ## Cancellation loses no bytes
 * Nothing is consumed until a whole answer is there, so a read cancelled while it waits
 * leaves every byte in the buffer for the next read.
 */
import { checkInteger, checkOptions, hasMethod, isInstance } from "../arguments.ts";
import { currentTask } from "../core/context.ts";
import { type Blocker, park, parkChecked, refuseWait, wake, wakeWithError } from "../core/park.ts";
import type { Task } from "../core/task.ts";
import {
  describe,
  GiambioError,
  IncompleteReadError,
  ResourceBusyError,
  ResourceClosedError,
} from "../errors.ts";
import {
  type Decoded,
  type Decoder,
  type Dropped,
  FrameTooLongError,
  LinesDecoder,
} from "./decoder.ts";
import { raisedByPeerOf, withoutStack } from "./peer-errors.ts";
import { ReceiveBuffer } from "./receive-buffer.ts";
import { PAUSE_READING, RESUME_READING } from "./transport-symbols.ts";

/**
 * Unread bytes above which a stream stops reading from its transport until the handler has
 * read them down to half of this: 64 KiB. A slow reader therefore never makes the process
 * buffer without bound; the kernel's buffers fill and TCP slows the sender.
 */
export const RECEIVE_HIGH_WATER_MARK = 64 * 1024;

/** `maxFrameLength`'s default: 1 MiB. */
export const DEFAULT_MAX_FRAME_LENGTH = 1 << 20;

/** `receive()`'s default `maxBytes`, and `receiveUntil`'s (when the frame limit allows). */
const DEFAULT_MAX_BYTES = 65536;

const EMPTY = new Uint8Array(0);
/** Every receiver's buffer until its first buffered chunk; always empty. */
const NO_BYTES = new ReceiveBuffer();
const AT_EOF: Promise<Uint8Array> = Promise.resolve(EMPTY);
const NONE: Promise<undefined> = Promise.resolve(undefined);
const NO_FRAME = Symbol("no frame");
const END_OF_STREAM: IteratorResult<never> = { done: true, value: undefined };
const CHUNKS_ENDED: Promise<IteratorResult<never>> = Promise.resolve(END_OF_STREAM);

/** Which frame read the user called, for its errors: the call's name and what it reads. */
interface FrameRead {
  readonly op: string;
  readonly unit: string;
}
const FRAME_READ: FrameRead = { op: "receiveFrame", unit: "frame" };
const FRAMES_READ: FrameRead = { op: "frames", unit: "frame" };
const BATCHES_READ: FrameRead = { op: "frameBatches", unit: "frame" };
const LINE_READ: FrameRead = { op: "receiveLine", unit: "line" };
const encoder = new TextEncoder();

/** What a `Receiver` asks of the transport under it. */
export interface ReceiveTransport {
  /** Stop delivering chunks (read backpressure). */
  [PAUSE_READING](): void;
  /** Deliver chunks again. */
  [RESUME_READING](): void;
  /** The stream, for messages: `SocketStream(127.0.0.1:5000)`. */
  toString(): string;
}

/** Options of `stream.receiveLine(...)`. */
export interface ReceiveLineOptions {
  /** Longest line accepted, in bytes, without its terminator (default: `maxFrameLength`). */
  maxLength?: number;
}

const RECEIVE_LINE_OPTIONS = ["maxLength"];

export class Receiver implements Blocker {
  /** @internal Blocker: sockets are woken from outside the loop, memory streams by tasks. */
  readonly external: boolean;
  /** @internal */
  readonly cancellable = true;

  readonly #transport: ReceiveTransport;
  /**
   * The unread bytes. Starts as the shared empty buffer and gets its own at the first chunk
   * that is not handed straight to a parked `receive()`: an idle connection, or one whose
   * reader always waits, never allocates one (nothing writes to an empty buffer).
   */
  #buffer: ReceiveBuffer = NO_BYTES;
  #maxFrameLength = DEFAULT_MAX_FRAME_LENGTH;
  #highWaterMark: number;
  readonly #baseHighWaterMark: number;
  /** `PAUSED`, `EOF`, `CLOSED`, `WRAPS` (one field for four: see `ReceiverExtras`). */
  #flags = 0;
  /** Makes the error for a broken connection from the transport, or null. */
  #broken: ((transport: ReceiveTransport) => Error) | null = null;

  /** The task receiving right now (parked in `receive`, or in a slow-path read). */
  #reader: Task | null = null;
  /** > 0: `receive(max)` is parked and takes the next chunk; 0: a slow-path read is. */
  #readerMax = 0;
  #extras: ReceiverExtras | null = null;

  constructor(
    transport: ReceiveTransport,
    external: boolean,
    highWaterMark = RECEIVE_HIGH_WATER_MARK,
  ) {
    this.#transport = transport;
    this.external = external;
    this.#baseHighWaterMark = highWaterMark;
    this.#highWaterMark = highWaterMark;
  }

  // ------------------------------------------------------------- the transport's side

  /** A chunk arrived. */
  push(chunk: Uint8Array): void {
    if ((this.#flags & CLOSED) !== 0 || chunk.length === 0) return;
    const reader = this.#reader;
    const max = this.#readerMax;
    if (reader !== null && max > 0) {
      // receive() is parked, so nothing is buffered: hand the chunk over directly.
      this.#reader = null;
      if (chunk.length <= max) {
        wake(reader, (this.#flags & WRAPS) !== 0 ? { done: false, value: chunk } : chunk);
        return;
      }
      this.#ownBuffer().push(chunk.subarray(max));
      const part = chunk.subarray(0, max);
      wake(reader, (this.#flags & WRAPS) !== 0 ? { done: false, value: part } : part);
    } else {
      this.#ownBuffer().push(chunk);
      if (reader !== null) wake(reader);
    }
    if ((this.#flags & PAUSED) === 0 && this.#buffer.size > this.#highWaterMark) {
      this.#flags |= PAUSED;
      this.#transport[PAUSE_READING]();
    }
  }

  #ownBuffer(): ReceiveBuffer {
    if (this.#buffer === NO_BYTES) this.#buffer = new ReceiveBuffer();
    return this.#buffer;
  }

  /** The peer finished sending (or the transport closed): wake a parked reader. */
  end(): void {
    this.#flags |= EOF;
    this.#noMoreBytes();
  }

  /**
   * The connection broke; `makeError(transport)` builds the error reads reject with (after
   * the bytes). Given the transport, it can be one function for every connection, not a
   * closure made at each reset.
   */
  fail(makeError: (transport: ReceiveTransport) => Error): void {
    if (this.#broken === null) this.#broken = makeError;
    this.#noMoreBytes();
  }

  /** `close()` of the stream: a parked reader gets `ResourceClosedError`; bytes are dropped. */
  close(): void {
    if ((this.#flags & CLOSED) !== 0) return;
    this.#flags |= CLOSED;
    const reader = this.#reader;
    if (reader !== null) {
      if (this.#readerMax > 0) this.#reader = null;
      wakeWithError(reader, this.#closedError("receive"));
    }
    this.#buffer.clear();
  }

  /** Unread bytes. */
  get buffered(): number {
    return this.#buffer.size;
  }

  /** The peer has finished sending and everything was read. */
  get drained(): boolean {
    return (this.#flags & EOF) !== 0 && this.#buffer.size === 0;
  }

  /**
   * @internal A reader is parked waiting for the first byte of a message: in `receive`, a
   * framing helper or a frame read, with nothing buffered (for closing idle connections).
   */
  get readerIdle(): boolean {
    return this.#reader !== null && this.#buffer.size === 0 && (this.#flags & EOF) === 0;
  }

  /** @internal Called as a reader starts to wait with nothing buffered (see `readerIdle`). */
  get onIdle(): (() => void) | null {
    return this.#extras?.onIdle ?? null;
  }

  set onIdle(callback: (() => void) | null) {
    this.#ownExtras().onIdle = callback;
  }

  #ownExtras(): ReceiverExtras {
    if (this.#extras === null) this.#extras = new ReceiverExtras();
    return this.#extras;
  }

  // ------------------------------------------------------------- limits

  get maxFrameLength(): number {
    return this.#maxFrameLength;
  }

  set maxFrameLength(value: number) {
    this.#maxFrameLength = checkInteger(`${this.#transport}.maxFrameLength`, value, 1);
  }

  // ------------------------------------------------------------- reads

  receive(maxBytes: number = DEFAULT_MAX_BYTES): Promise<Uint8Array> {
    let task: Task;
    try {
      task = currentTask();
      if (maxBytes !== DEFAULT_MAX_BYTES) checkInteger("receive(maxBytes)", maxBytes, 1);
      this.#checkReceivable("receive");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#readChunk(task, maxBytes, 0);
  }

  /**
   * The chunk iterator's `next()`: `receive()` resolving with the iterator result itself.
   * A parked call is woken with the result (no `then` per message: one promise and one
   * microtask fewer than `receive().then(...)`).
   */
  #nextChunk(): Promise<IteratorResult<Uint8Array>> {
    const task = this.#readingTask("receive");
    if (task instanceof Promise) return task;
    return this.#readChunk(task, DEFAULT_MAX_BYTES, WRAPS);
  }

  /**
   * `receive()` once its arguments are checked: the chunk at once when bytes are buffered,
   * else parks. `wraps` (`WRAPS` or 0) says whether the chunk comes as an iterator result.
   */
  #readChunk<T>(task: Task, maxBytes: number, wraps: number): Promise<T> {
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    if (this.#buffer.size > 0) {
      const chunk = this.#take(maxBytes);
      return Promise.resolve((wraps === 0 ? chunk : { done: false, value: chunk }) as T);
    }
    if (this.#broken !== null) return Promise.reject(this.#broken(this.#transport));
    if ((this.#flags & EOF) !== 0) return (wraps === 0 ? AT_EOF : CHUNKS_ENDED) as Promise<T>;
    this.#reader = task;
    this.#readerMax = maxBytes;
    this.#flags = (this.#flags & ~WRAPS) | wraps;
    return this.#parkReader(task);
  }

  /**
   * The calling task, which may start a read named `op` now (the stream is open, the task is
   * neither cancelled nor waiting already); else the rejected promise the read returns.
   */
  #readingTask(op: string): Task | Promise<never> {
    let task: Task;
    try {
      task = currentTask();
      this.#checkReceivable(op);
    } catch (error) {
      return Promise.reject(error);
    }
    return refuseWait(task) ?? task;
  }

  /** Parks a `receive()` that `refuseWait` has just let through. */
  #parkReader<T>(task: Task): Promise<T> {
    const onIdle = this.#extras?.onIdle ?? null;
    if (onIdle === null) return parkChecked(task, this);
    // The callback may cancel the task (a graceful drain): then park refuses it.
    onIdle();
    return park(task, this);
  }

  receiveExactly(n: number): Promise<Uint8Array> {
    let task: Task;
    try {
      task = currentTask();
      checkInteger("receiveExactly(n)", n, 0);
      this.#checkLength("receiveExactly(n)", n);
      this.#checkReceivable("receiveExactly");
    } catch (error) {
      return Promise.reject(error);
    }
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    if (this.#buffer.size >= n) return Promise.resolve(this.#takeExactly(n));
    return this.#receiveExactlySlow(task, n);
  }

  async #receiveExactlySlow(task: Task, n: number): Promise<Uint8Array> {
    this.#beginWait(task);
    try {
      while (this.#buffer.size < n) await this.#moreBytes(task, n, null);
      return this.#takeExactly(n);
    } finally {
      this.#endWait(task);
    }
  }

  receiveUntil(delimiter: Uint8Array | string, maxBytes?: number): Promise<Uint8Array> {
    let task: Task;
    let needle: Uint8Array;
    let max: number;
    try {
      task = currentTask();
      const extras = this.#extras;
      if (typeof delimiter === "string" && extras !== null && delimiter === extras.delimiter) {
        needle = extras.needle;
      } else {
        needle = delimiterBytes("receiveUntil(delimiter)", delimiter);
        // Protocols read with one delimiter over and over: encode a string once.
        if (typeof delimiter === "string") {
          const own = this.#ownExtras();
          own.delimiter = delimiter;
          own.needle = needle;
        }
      }
      if (maxBytes === undefined) {
        max = Math.max(Math.min(DEFAULT_MAX_BYTES, this.#maxFrameLength), needle.length);
      } else {
        max = checkInteger("receiveUntil(delimiter, maxBytes)", maxBytes, needle.length);
        this.#checkLength("receiveUntil(delimiter, maxBytes)", max);
      }
      this.#checkReceivable("receiveUntil");
    } catch (error) {
      return Promise.reject(error);
    }
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    try {
      const end = this.#findDelimiter(needle, 0, max, delimiter);
      if (end !== -1) return Promise.resolve(this.#takeExactly(end));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#receiveUntilSlow(task, needle, max, delimiter);
  }

  async #receiveUntilSlow(
    task: Task,
    needle: Uint8Array,
    max: number,
    delimiter: Uint8Array | string,
  ): Promise<Uint8Array> {
    this.#beginWait(task);
    try {
      for (;;) {
        const from = Math.max(0, this.#buffer.size - needle.length + 1);
        await this.#moreBytes(task, max, delimiter);
        const end = this.#findDelimiter(needle, from, max, delimiter);
        if (end !== -1) return this.#takeExactly(end);
      }
    } finally {
      this.#endWait(task);
    }
  }

  /** The end of the first delimiter within `max` bytes, -1 to wait for more, or throws. */
  #findDelimiter(needle: Uint8Array, from: number, max: number, delimiter: unknown): number {
    const at = this.#buffer.indexOf(needle, from);
    const end = at === -1 ? -1 : at + needle.length;
    if (end !== -1 && end <= max) return end;
    if (end !== -1 || this.#buffer.size >= max) {
      throw new GiambioError(
        `receiveUntil(${describe(delimiter)}, ${max}) on ${this.#transport}: no delimiter within the first ${max} bytes; the bytes stay in the stream`,
      );
    }
    return -1;
  }

  receiveFrame<F>(decoder: Decoder<F>): Promise<F | undefined> {
    return this.#receiveFrameFor(FRAME_READ, decoder);
  }

  /** `receiveFrame`, with errors naming the call the user made (`read`). */
  #receiveFrameFor<F>(read: FrameRead, decoder: Decoder<F>): Promise<F | undefined> {
    let task: Task;
    try {
      task = currentTask();
      if (read === FRAME_READ) checkDecoder("receiveFrame(decoder)", decoder);
      this.#checkReceivable(read.op);
    } catch (error) {
      return Promise.reject(error);
    }
    const refused = refuseWait(task);
    if (refused !== null) return refused;
    try {
      const frame = this.#decode(decoder);
      if (frame !== NO_FRAME) return Promise.resolve(frame);
      const ended = this.#endOfFrames(read);
      if (ended !== null) return ended;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#receiveFrameSlow(task, read, decoder);
  }

  async #receiveFrameSlow<F>(
    task: Task,
    read: FrameRead,
    decoder: Decoder<F>,
  ): Promise<F | undefined> {
    this.#beginWait(task);
    try {
      for (;;) {
        await this.#moreFrameBytes(task, read);
        const frame = this.#decode(decoder);
        if (frame !== NO_FRAME) return frame;
        const ended = this.#endOfFrames(read);
        if (ended !== null) return await ended;
      }
    } finally {
      this.#endWait(task);
    }
  }

  receiveLine(options?: ReceiveLineOptions): Promise<string | undefined> {
    let decoder: LinesDecoder;
    try {
      decoder = this.#linesDecoder(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#receiveFrameFor(LINE_READ, decoder);
  }

  #linesDecoder(options: ReceiveLineOptions | undefined): LinesDecoder {
    let maxLength = this.#maxFrameLength;
    if (options !== undefined) {
      checkOptions("receiveLine(options)", options, RECEIVE_LINE_OPTIONS, "{ maxLength: 1024 }");
      if (options.maxLength !== undefined) {
        maxLength = checkInteger("receiveLine({ maxLength })", options.maxLength, 0);
      }
    }
    const extras = this.#ownExtras();
    let lines = extras.lines;
    if (lines === null || lines.maxLength !== maxLength) {
      lines = new LinesDecoder({ maxLength });
      extras.lines = lines;
    }
    return lines;
  }

  frames<F>(decoder: Decoder<F>): AsyncIterableIterator<F> {
    checkDecoder("frames(decoder)", decoder);
    const iterator: AsyncIterableIterator<F> = {
      next: () => this.#nextFrame(decoder),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** `frames()`'s `next()`: `receiveFrame` with the frame wrapped, without a `then` when it is buffered. */
  #nextFrame<F>(decoder: Decoder<F>): Promise<IteratorResult<F>> {
    const task = this.#readingTask("frames");
    if (task instanceof Promise) return task;
    try {
      const frame = this.#decode(decoder);
      if (frame !== NO_FRAME) return Promise.resolve({ done: false, value: frame });
      const ended = this.#endOfFrames(FRAMES_READ);
      if (ended !== null) return ended.then(toIteratorEnd);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#receiveFrameSlow(task, FRAMES_READ, decoder).then(toFrameResult);
  }

  frameBatches<F>(decoder: Decoder<F>): AsyncIterableIterator<F[]> {
    checkDecoder("frameBatches(decoder)", decoder);
    const batches = new FrameBatches(decoder);
    const iterator: AsyncIterableIterator<F[]> = {
      next: () => this.#nextBatch(batches),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * `frameBatches()`'s `next()`: every whole frame buffered, waiting (as `receiveFrame`) only
   * when there is none. A decoder error after the first frame is kept for the next call, so
   * the frames before it are delivered first, as one `receiveFrame` after another would.
   */
  #nextBatch<F>(batches: FrameBatches<F>): Promise<IteratorResult<F[]>> {
    const task = this.#readingTask("frameBatches");
    if (task instanceof Promise) return task;
    const failure = batches.failure;
    if (failure !== null) {
      batches.failure = null;
      return Promise.reject(failure.error);
    }
    try {
      const first = this.#decode(batches.decoder);
      if (first !== NO_FRAME) {
        return Promise.resolve({ done: false, value: this.#batch(batches, first) });
      }
      const ended = this.#endOfFrames(BATCHES_READ);
      if (ended !== null) return ended.then(toIteratorEnd);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#nextBatchSlow(task, batches);
  }

  async #nextBatchSlow<F>(task: Task, batches: FrameBatches<F>): Promise<IteratorResult<F[]>> {
    this.#beginWait(task);
    try {
      for (;;) {
        await this.#moreFrameBytes(task, BATCHES_READ);
        const frame = this.#decode(batches.decoder);
        if (frame !== NO_FRAME) return { done: false, value: this.#batch(batches, frame) };
        const ended = this.#endOfFrames(BATCHES_READ);
        if (ended !== null) return await ended.then(toIteratorEnd);
      }
    } finally {
      this.#endWait(task);
    }
  }

  /** `first` and every whole frame buffered after it (a decoder error waits in `batches`). */
  #batch<F>(batches: FrameBatches<F>, first: F): F[] {
    const batch = [first];
    const decoder = batches.decoder;
    try {
      for (;;) {
        const frame = this.#decode(decoder);
        if (frame === NO_FRAME) return batch;
        batch.push(frame);
      }
    } catch (error) {
      batches.failure = { error };
      return batch;
    }
  }

  /** `for await (const chunk of stream)`: `receive()` until EOF. */
  chunks(): AsyncIterator<Uint8Array> {
    return { next: () => this.#nextChunk() };
  }

  // ------------------------------------------------------------- Blocker

  /** @internal The reader was cancelled while parked. */
  abortWait(task: Task): void {
    // A slow-path read clears `#reader` itself when it unwinds.
    if (task === this.#reader && this.#readerMax > 0) this.#reader = null;
  }

  /** @internal */
  describeWait(_task: Task): string {
    return `receive() on ${this.#transport}`;
  }

  // ------------------------------------------------------------- internals

  #checkReceivable(op: string): void {
    if ((this.#flags & CLOSED) !== 0) throw this.#closedError(op);
    const reader = this.#reader;
    if (reader !== null) {
      throw new ResourceBusyError(
        `${op}() on ${this.#transport} while task '${reader.name}' is receiving from it: one task at a time may do that`,
      );
    }
  }

  #checkLength(what: string, n: number): void {
    if (n > this.#maxFrameLength) {
      throw new RangeError(
        `${what} on ${this.#transport} must be at most the stream's maxFrameLength (${this.#maxFrameLength}), got ${n}; raise stream.maxFrameLength to read longer frames`,
      );
    }
  }

  /** The next frame from the buffered bytes, or NO_FRAME; throws the decoder's errors. */
  #decode<F>(decoder: Decoder<F>): F | typeof NO_FRAME {
    const buffer = this.#buffer;
    for (;;) {
      const size = buffer.size;
      if (size === 0) return NO_FRAME;
      const result =
        decoder.decodeAt === undefined
          ? decoder.decode(buffer.contiguous())
          : decoder.decodeAt(buffer.joinedHead(), buffer.headOffset());
      if (result === null) {
        if (size > this.#maxFrameLength) throw this.#frameTooLong(`${size} bytes buffered`);
        return NO_FRAME;
      }
      const length = (result as Decoded<F>).length;
      if (length === undefined) {
        const drop = (result as Dropped).drop;
        checkUsed(decoder, "drop", drop, size);
        this.#consume(drop);
        continue;
      }
      const frame = (result as Decoded<F>).frame;
      checkUsed(decoder, "length", length, size);
      if (length > this.#maxFrameLength) throw this.#frameTooLong(`a ${length}-byte frame`);
      this.#consume(length);
      return frame;
    }
  }

  #frameTooLong(what: string): FrameTooLongError {
    return new FrameTooLongError(
      `${what} on ${this.#transport}, over the stream's maxFrameLength (${this.#maxFrameLength}), with no frame; the bytes stay in the stream (raise stream.maxFrameLength for longer frames)`,
    );
  }

  /** No frame is buffered: undefined at EOF between frames, an error in one, else null. */
  #endOfFrames(read: FrameRead): Promise<undefined> | null {
    if (this.#buffer.size === 0) {
      if (this.#broken !== null) return Promise.reject(this.#broken(this.#transport));
      return (this.#flags & EOF) !== 0 ? NONE : null;
    }
    if (this.#broken !== null) return Promise.reject(this.#broken(this.#transport));
    if ((this.#flags & EOF) === 0) return null;
    const got = this.#buffer.size;
    return Promise.reject(
      raisedByPeerOf(
        new IncompleteReadError(
          `${read.op}() on ${this.#transport}: the peer stopped sending after ${got} bytes of a ${read.unit}`,
          this.#buffer.takeAll(),
        ),
        this.#transport,
      ),
    );
  }

  /** A frame read needs more bytes: wait for them (the caller has checked EOF and failure). */
  #moreFrameBytes(task: Task, read: FrameRead): Promise<void> {
    if ((this.#flags & CLOSED) !== 0) return Promise.reject(this.#closedError(read.op));
    // Let a frame longer than the mark arrive, up to the limit (+1, to tell it is too long).
    if (this.#buffer.size >= this.#highWaterMark) {
      this.#highWaterMark = Math.max(this.#highWaterMark, this.#maxFrameLength + 1);
    }
    if ((this.#flags & PAUSED) !== 0 && this.#buffer.size <= this.#highWaterMark) this.#resume();
    if (this.#buffer.size === 0) this.#extras?.onIdle?.();
    return park(task, this);
  }

  #beginWait(task: Task): void {
    this.#reader = task;
    this.#readerMax = 0;
  }

  #endWait(task: Task): void {
    if (this.#reader === task) this.#reader = null;
    if (this.#highWaterMark !== this.#baseHighWaterMark) {
      this.#highWaterMark = this.#baseHighWaterMark;
      if ((this.#flags & PAUSED) === 0 && this.#buffer.size > this.#highWaterMark) {
        this.#flags |= PAUSED;
        this.#transport[PAUSE_READING]();
      }
    }
  }

  /**
   * A slow-path read needs more than is buffered: wait for it, or fail if none can come.
   * `delimiter`: receiveUntil's (`want` is its maxBytes), or null for receiveExactly(want);
   * the call's name is built only for an error (describing a delimiter is a JSON.stringify).
   */
  #moreBytes(task: Task, want: number, delimiter: Uint8Array | string | null): Promise<void> {
    if ((this.#flags & CLOSED) !== 0)
      return Promise.reject(this.#closedError(slowReadName(want, delimiter)));
    if (this.#broken !== null) return Promise.reject(this.#broken(this.#transport));
    if ((this.#flags & EOF) !== 0) {
      const what = slowReadName(want, delimiter);
      const got = this.#buffer.size;
      return Promise.reject(
        raisedByPeerOf(
          new IncompleteReadError(
            `${what} on ${this.#transport}: the peer stopped sending after ${got} bytes`,
            this.#buffer.takeAll(),
          ),
          this.#transport,
        ),
      );
    }
    if (want > this.#highWaterMark) this.#highWaterMark = want;
    if ((this.#flags & PAUSED) !== 0) this.#resume();
    if (this.#buffer.size === 0) this.#extras?.onIdle?.();
    return park(task, this);
  }

  #take(max: number): Uint8Array {
    const chunk = this.#buffer.take(max);
    if ((this.#flags & PAUSED) !== 0 && this.#buffer.size <= this.#highWaterMark / 2)
      this.#resume();
    return chunk;
  }

  #takeExactly(n: number): Uint8Array {
    const bytes = this.#buffer.takeExactly(n);
    if ((this.#flags & PAUSED) !== 0 && this.#buffer.size <= this.#highWaterMark / 2)
      this.#resume();
    return bytes;
  }

  #consume(n: number): void {
    this.#buffer.skip(n);
    if ((this.#flags & PAUSED) !== 0 && this.#buffer.size <= this.#highWaterMark / 2)
      this.#resume();
  }

  #resume(): void {
    this.#flags &= ~PAUSED;
    this.#transport[RESUME_READING]();
  }

  /** EOF or a broken connection: wake a parked reader, since no more bytes will come. */
  #noMoreBytes(): void {
    const reader = this.#reader;
    if (reader === null) return;
    if (this.#readerMax === 0) {
      wake(reader); // a slow-path read looks at the state itself
      return;
    }
    this.#reader = null;
    if (this.#broken !== null) wakeWithError(reader, withoutStack(this.#broken, this.#transport));
    else wake(reader, (this.#flags & WRAPS) !== 0 ? END_OF_STREAM : EMPTY);
  }

  #closedError(op: string): ResourceClosedError {
    return new ResourceClosedError(`${op}() on ${this.#transport} after close()`);
  }
}

/** `Receiver.#flags`: reading from the transport is paused (read backpressure). */
const PAUSED = 1;
/** No more bytes will come (EOF, or the transport closed). */
const EOF = 2;
/** `close()` was called. */
const CLOSED = 4;
/** The parked `receive` is the chunk iterator's: it is woken with an `IteratorResult`. */
const WRAPS = 8;

/**
 * What only some receivers use, allocated on first use: with it and the flags a `Receiver`
 * has 12 fields, which keeps it in JSC's 112-byte size class (13 to 18 take 160 bytes).
 */
class ReceiverExtras {
  /** The string delimiter `receiveUntil` saw last, and its UTF-8 bytes. */
  delimiter: string | null = null;
  needle: Uint8Array = EMPTY;
  /** `receiveLine`'s decoder (it keeps state: skipping a line that was too long). */
  lines: LinesDecoder | null = null;
  /** See `Receiver.onIdle`. */
  onIdle: (() => void) | null = null;
}

/** One `frameBatches()` iterator's state. */
class FrameBatches<F> {
  readonly decoder: Decoder<F>;
  /** What the decoder threw after the frames of the last batch, for the next `next()`. */
  failure: { error: unknown } | null = null;

  constructor(decoder: Decoder<F>) {
    this.decoder = decoder;
  }
}

/** The call a slow-path read is, for its errors: `receiveUntil("\r\n", 65536)`, `receiveExactly(8)`. */
function slowReadName(want: number, delimiter: Uint8Array | string | null): string {
  return delimiter === null
    ? `receiveExactly(${want})`
    : `receiveUntil(${describe(delimiter)}, ${want})`;
}

/** `#endOfFrames` resolved (EOF between frames): the batches end. */
function toIteratorEnd(): IteratorResult<never> {
  return END_OF_STREAM;
}

function toFrameResult<F>(frame: F | undefined): IteratorResult<F> {
  return frame === undefined ? END_OF_STREAM : { done: false, value: frame };
}

function delimiterBytes(what: string, delimiter: unknown): Uint8Array {
  const bytes = typeof delimiter === "string" ? encoder.encode(delimiter) : delimiter;
  // isInstance: a Proxy whose prototype trap throws gets this TypeError, not its own error.
  if (!isInstance(bytes, Uint8Array)) {
    throw new TypeError(
      `${what} must be a non-empty string or Uint8Array, got ${describe(delimiter)}`,
    );
  }
  if (bytes.length === 0) {
    throw new TypeError(
      `${what} must not be empty, got ${typeof delimiter === "string" ? 'an empty string ("")' : "an empty Uint8Array"}`,
    );
  }
  return bytes;
}

function checkDecoder(what: string, decoder: unknown): void {
  if (typeof decoder !== "object" || decoder === null || !hasMethod(decoder, "decode")) {
    throw new TypeError(
      `${what} must be a Decoder (an object with decode(bytes)), got ${describe(decoder)}`,
    );
  }
  let decodeAt: unknown;
  try {
    decodeAt = (decoder as { decodeAt?: unknown }).decodeAt;
  } catch {
    decodeAt = null; // a Proxy whose get trap throws: no usable decodeAt
  }
  if (decodeAt !== undefined && typeof decodeAt !== "function") {
    throw new TypeError(
      `${what}: the decoder's decodeAt, when present, must be a method decodeAt(bytes, start), got ${describe(decodeAt)}`,
    );
  }
}

function checkUsed(decoder: Decoder<unknown>, field: string, n: unknown, size: number): void {
  // One comparison chain on the hot path: an integer (| 0 keeps it) from 1 to size.
  if (!((n as number) >= 1 && (n as number) <= size && ((n as number) | 0) === n)) {
    const at = decoder.decodeAt !== undefined;
    throw new TypeError(
      `${describe(decoder)}.${at ? "decodeAt()" : "decode()"} returned ${field} ${describe(n)}: it must be an integer from 1 to the ${size} bytes ${at ? "from the start it was given" : "it was given"}`,
    );
  }
}
