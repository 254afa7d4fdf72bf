/**
 * In-memory byte streams (trio's `memory_stream_pair`): two connected `ByteStream`s, for
 * testing a connection handler without sockets. What one sends, the other receives, through
 * the same `Receiver` (and so the same framing, decoders and limits) as a `SocketStream`.
 *
 * Backpressure works as on a socket: the receiving side's buffer holds about `bufferSize`
 * bytes; above that it pauses its sender, whose `sendAll` parks until the reader has taken
 * the buffer down to half. `splitWrites` cuts every `sendAll` into random-sized chunks from
 * a seeded generator, so a handler meets the chunk boundaries a network can produce, and a
 * failing seed replays exactly.
 *
 * States of the sending side: open → (sendEof) eof-sent, or → (a cancelled `sendAll`)
 * broken; either → (close) closed. Closing a stream gives its peer EOF, and makes the peer's
 * later `sendAll` a `BrokenResourceError`, as a reset would.
 */
import { checkInteger, checkOptions } from "../arguments.ts";
import { currentTask } from "../core/context.ts";
import {
  type Blocker,
  checkCancelled,
  park,
  refuseWait,
  wake,
  wakeWithError,
} from "../core/park.ts";
import type { Task } from "../core/task.ts";
import { BrokenResourceError, ResourceBusyError, ResourceClosedError } from "../errors.ts";
import { seededRandom } from "../seeded-random.ts";
import type { ByteStream } from "./byte-stream.ts";
import type { Decoder } from "./decoder.ts";
import { raisedByPeerOf } from "./peer-errors.ts";
import { type ReceiveLineOptions, Receiver, type ReceiveTransport } from "./receiver.ts";
import { sendData } from "./send-data.ts";
import { PAUSE_READING, RESUME_READING } from "./transport-symbols.ts";

/** Options of `memoryStreamPair()`. */
export interface MemoryStreamOptions {
  /** Bytes a stream buffers unread before its sender waits (default 16384). */
  bufferSize?: number;
  /**
   * Cut every `sendAll` into chunks of random sizes (1 to `maxChunk`, default 64), from a
   * generator seeded with `seed`: the reader sees arbitrary chunk boundaries.
   */
  splitWrites?: { seed: number; maxChunk?: number };
}

const OPTIONS = ["bufferSize", "splitWrites"];
const SPLIT_OPTIONS = ["seed", "maxChunk"];
const SENT: Promise<void> = Promise.resolve();
let pairs = 0;

/**
 * Two connected in-memory streams: `a` sends to `b` and `b` to `a`. Both are `ByteStream`s
 * (the interface `SocketStream` implements), so a handler typed with it runs on either.
 */
export function memoryStreamPair(options?: MemoryStreamOptions): [MemoryStream, MemoryStream] {
  let bufferSize = 16384;
  let split: (() => number) | null = null;
  if (options !== undefined) {
    checkOptions("memoryStreamPair(options)", options, OPTIONS, "{ bufferSize: 1024 }");
    if (options.bufferSize !== undefined) {
      bufferSize = checkInteger("memoryStreamPair({ bufferSize })", options.bufferSize, 1);
    }
    const s = options.splitWrites;
    if (s !== undefined) {
      checkOptions("memoryStreamPair({ splitWrites })", s, SPLIT_OPTIONS, "{ seed: 1 }");
      const seed = checkInteger("memoryStreamPair({ splitWrites: { seed } })", s.seed, 0);
      const maxChunk =
        s.maxChunk === undefined
          ? 64
          : checkInteger("memoryStreamPair({ splitWrites: { maxChunk } })", s.maxChunk, 1);
      split = chunkSizes(seed, maxChunk);
    }
  }
  const id = ++pairs;
  const a = new MemoryStream(FROM_PAIR, `memory:${id}/a`, bufferSize, split);
  const b = new MemoryStream(FROM_PAIR, `memory:${id}/b`, bufferSize, split);
  link(a, b);
  return [a, b];
}

/** Only `memoryStreamPair` makes streams: the class is exported for types and `instanceof`. */
const FROM_PAIR = Symbol("memoryStreamPair()");
/** Joins two new ends; set by the class so that the peer field stays private to it. */
let link: (a: MemoryStream, b: MemoryStream) => void;

/** One end of a `memoryStreamPair()`. */
export class MemoryStream implements ByteStream, ReceiveTransport, Blocker {
  readonly remoteAddress = "memory";
  readonly remotePort = 0;
  /** @internal Blocker: only tasks (the peer) wake this stream's writer. */
  readonly external = false;
  /** @internal */
  readonly cancellable = true;

  readonly #name: string;
  readonly #bufferSize: number;
  readonly #split: (() => number) | null;
  readonly #receiver: Receiver;
  #peerStream: MemoryStream | null = null;
  /** This stream's receiver asked its sender (the peer) to wait. */
  #readPaused = false;
  #writer: Task | null = null;
  #send: "open" | "eof-sent" | "broken" = "open";
  #closed = false;

  /** @internal Made by `memoryStreamPair`. */
  constructor(
    token: typeof FROM_PAIR,
    name: string,
    bufferSize: number,
    split: (() => number) | null,
  ) {
    if (token !== FROM_PAIR) {
      throw new TypeError(
        "new MemoryStream() is not public: call memoryStreamPair(options) to get a pair of streams",
      );
    }
    this.#name = name;
    this.#bufferSize = bufferSize;
    this.#split = split;
    this.#receiver = new Receiver(this, false, bufferSize);
  }

  static {
    link = (a, b) => {
      a.#peerStream = b;
      b.#peerStream = a;
    };
  }

  get peer(): string {
    return (this.#peerStream as MemoryStream).#name;
  }

  get maxFrameLength(): number {
    return this.#receiver.maxFrameLength;
  }

  set maxFrameLength(value: number) {
    this.#receiver.maxFrameLength = value;
  }

  receive(maxBytes?: number): Promise<Uint8Array> {
    return this.#receiver.receive(maxBytes);
  }

  receiveExactly(n: number): Promise<Uint8Array> {
    return this.#receiver.receiveExactly(n);
  }

  receiveUntil(delimiter: Uint8Array | string, maxBytes?: number): Promise<Uint8Array> {
    return this.#receiver.receiveUntil(delimiter, maxBytes);
  }

  receiveFrame<F>(decoder: Decoder<F>): Promise<F | undefined> {
    return this.#receiver.receiveFrame(decoder);
  }

  frames<F>(decoder: Decoder<F>): AsyncIterableIterator<F> {
    return this.#receiver.frames(decoder);
  }

  frameBatches<F>(decoder: Decoder<F>): AsyncIterableIterator<F[]> {
    return this.#receiver.frameBatches(decoder);
  }

  receiveLine(options?: ReceiveLineOptions): Promise<string | undefined> {
    return this.#receiver.receiveLine(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#receiver.chunks();
  }

  /**
   * Delivers every byte of `data` to the peer's buffer, waiting while it is full. A
   * cancellation point; cancelled midway, the peer has part of the data and this stream can
   * no longer send (`BrokenResourceError`), as with a socket.
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
    const offset = this.#deliver(bytes, 0);
    if (offset === bytes.length) return SENT;
    return this.#sendSlow(task, bytes, offset);
  }

  async #sendSlow(task: Task, bytes: Uint8Array, offset: number): Promise<void> {
    this.#writer = task;
    try {
      while (offset < bytes.length) {
        await park(task, this);
        const peer = this.#peerStream as MemoryStream;
        if (peer.#closed) throw this.#peerClosedError();
        offset = this.#deliver(bytes, offset);
      }
    } finally {
      if (this.#writer === task) this.#writer = null;
    }
  }

  /** Pushes bytes from `offset` into the peer's buffer until it is full; the new offset. */
  #deliver(bytes: Uint8Array, offset: number): number {
    const peer = this.#peerStream as MemoryStream;
    while (offset < bytes.length && !peer.#readPaused) {
      const size = this.#split === null ? this.#bufferSize : this.#split();
      const end = Math.min(bytes.length, offset + size);
      // A copy: the sender may reuse its buffer once sendAll resolves, as with a socket.
      peer.#receiver.push(bytes.slice(offset, end));
      offset = end;
    }
    return offset;
  }

  /** Finishes sending: the peer reads EOF after the bytes sent. Idempotent. */
  sendEof(): Promise<void> {
    let task: Task;
    try {
      task = currentTask();
      if (this.#closed) throw new ResourceClosedError(`sendEof() on ${this} after close()`);
      if (this.#writer !== null) throw this.#busyError("sendEof");
    } catch (error) {
      return Promise.reject(error);
    }
    const cancelled = checkCancelled(task);
    if (cancelled !== null) return cancelled;
    if (this.#send === "open") {
      this.#send = "eof-sent";
      (this.#peerStream as MemoryStream).#receiver.end();
    }
    return SENT;
  }

  /** Closes this end: the peer reads EOF, and its later sends fail. Idempotent, never throws. */
  close(): Promise<void> {
    if (this.#closed) return SENT;
    this.#closed = true;
    this.#receiver.close();
    const writer = this.#writer;
    this.#writer = null;
    if (writer !== null) {
      wakeWithError(writer, new ResourceClosedError(`sendAll() on ${this}: the stream was closed`));
    }
    const peer = this.#peerStream as MemoryStream;
    peer.#receiver.end();
    // A peer waiting for room in this (now closed) buffer learns at once.
    if (peer.#writer !== null) wake(peer.#writer);
    return SENT;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  toString(): string {
    return `MemoryStream(${this.#name})`;
  }

  /** @internal ReceiveTransport: this stream's buffer is full; the peer's sends wait. */
  [PAUSE_READING](): void {
    this.#readPaused = true;
  }

  /** @internal The reader made room: the peer's waiting `sendAll` goes on. */
  [RESUME_READING](): void {
    this.#readPaused = false;
    const writer = (this.#peerStream as MemoryStream).#writer;
    if (writer !== null) wake(writer);
  }

  /** @internal Blocker: a `sendAll` waiting for room was cancelled. */
  abortWait(task: Task): void {
    if (task !== this.#writer) return;
    this.#writer = null;
    this.#send = "broken";
  }

  /** @internal */
  describeWait(_task: Task): string {
    return `sendAll() on ${this}`;
  }

  #checkSendable(op: string): void {
    if (this.#closed) throw new ResourceClosedError(`${op}() on ${this} after close()`);
    if (this.#writer !== null) throw this.#busyError(op);
    if (this.#send === "eof-sent") {
      throw new ResourceClosedError(`${op}() on ${this} after sendEof(): the sending side is shut`);
    }
    if (this.#send === "broken") {
      throw new BrokenResourceError(
        `${op}() on ${this} after an earlier sendAll() was cancelled midway: the peer may have part of that data, so this stream cannot send any more`,
      );
    }
    if ((this.#peerStream as MemoryStream).#closed) throw this.#peerClosedError();
  }

  #peerClosedError(): BrokenResourceError {
    return raisedByPeerOf(
      new BrokenResourceError(`sendAll() on ${this}: the peer closed its end`),
      this,
    );
  }

  #busyError(op: string): ResourceBusyError {
    const writer = this.#writer as Task;
    return new ResourceBusyError(
      `${op}() on ${this} while task '${writer.name}' is sending on it: one task at a time may do that`,
    );
  }
}

/** Random chunk sizes in [1, max], replayable from `seed`. */
function chunkSizes(seed: number, max: number): () => number {
  const random = seededRandom(seed);
  return () => 1 + Math.floor(random() * max);
}
