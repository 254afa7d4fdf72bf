/**
 * The bytes a stream has accepted from `sendAll` that its socket has not taken yet, and the
 * write-coalescing policy: the twin of `receive-buffer.ts` for the sending side. It knows
 * nothing of tasks or of the stream's states; it writes to a `Writer` and says what happened,
 * and the stream decides who waits or fails.
 *
 * ## Coalescing
 * An outbox starts out writing each `send` at once. When it sees a second `send` within one
 * iteration of the loop (a reply, then a prompt), it switches to coalescing: small sends (up
 * to `COALESCE_LIMIT` in all) only join the outbox, and the stream flushes it at the end of
 * the iteration — one `write` syscall for all of them, and nothing waits longer than the
 * iteration that produced it. After `SINGLE_FLUSHES_BEFORE_DIRECT` iterations in a row that
 * brought a single write, it goes back to writing at once, so a one-write protocol pays
 * nothing for this. Larger data, and sends from outside the loop's steps, are written at once.
 *
 * ## States
 * | `size` | `deferred` | meaning                                                       |
 * | ------ | ---------- | ------------------------------------------------------------- |
 * | 0      | false      | empty                                                         |
 * | > 0    | true       | coalesced bytes waiting for the end of the iteration          |
 * | > 0    | false      | the socket took part of a write: the rest waits for `drain`   |
 */

/**
 * Where an outbox writes: Bun's `socket.write` (unbuffered; may take part; -1 when gone),
 * given the bytes `bytes[byteOffset, byteOffset + byteLength)`. Passed to each call that
 * may write (the stream's socket), not kept by the outbox.
 */
export interface Writer {
  write(bytes: Uint8Array, byteOffset: number, byteLength: number): number;
}

/**
 * How many bytes `send` may leave in the outbox for the end of the iteration. Above it,
 * the bytes are written at once: coalescing saves syscalls on small writes, not on bulk.
 */
export const COALESCE_LIMIT = 64 * 1024;

/** Single-chunk flushes in a row after which a coalescing outbox goes back to writing at once. */
const SINGLE_FLUSHES_BEFORE_DIRECT = 8;

/** What became of the bytes of a `send` or a flush. */
export const Written = {
  /** Handed to the socket, or queued for the iteration's end: the caller may go on. */
  Done: 0,
  /** Some bytes wait in the outbox for the socket's `drain`. */
  Pending: 1,
  /** The socket refused the write (-1): it is gone. The outbox keeps the bytes; `clear()` them. */
  Failed: 2,
  /**
   * The bytes wait for the end of the iteration, and the outbox was not waiting for it yet:
   * the caller must arrange for `atIterationEnd()` to be called then (or `flush()` now).
   */
  Deferred: 3,
} as const;
export type Written = (typeof Written)[keyof typeof Written];

/** `#flags`: the bytes wait for the end of the iteration (not for `drain`). */
const DEFERRED = 1;
/** `#flags`: small sends are coalesced per iteration (else written at once). */
const COALESCING = 2;
/** `#flags` above the two bits: flushes in a row that had a single chunk to write. */
const SINGLE_FLUSH = 4;

/** `send`'s verdict when the bytes it queued must go out at once, with those before them. */
const FLUSH_NOW = -1;

/**
 * Four slots (JSC's 48-byte size class; five or six take 64 B, seven 80): every connection
 * has an outbox, so the writer is an argument of the calls that write rather than a field,
 * the two marks and the flush count share one number, and the chunk array is made the first
 * time bytes have to stay (a connection whose writes are all taken at once never makes one).
 * No private methods or getters either: JSC gives each instance of a class that has one a
 * brand slot, and one that has accessors a spare slot.
 */
export class Outbox {
  /** Accepted bytes, oldest first, never copied until written; null until bytes first stay. */
  #chunks: Uint8Array[] | null = null;
  #size = 0;
  /** `DEFERRED` | `COALESCING` | single flushes in a row × `SINGLE_FLUSH`. */
  #flags = 0;
  /** The iteration of the last write made at once, to notice a second one in the same. */
  #lastDirectWrite = -1;

  // Methods, not getters: a class with accessors gets one more slot per instance from JSC.

  /** Bytes accepted and not yet taken by the socket. */
  size(): number {
    return this.#size;
  }

  /** The bytes wait for the end of the iteration (not for `drain`). */
  isDeferred(): boolean {
    return (this.#flags & DEFERRED) !== 0;
  }

  /** Bytes wait for the socket's `drain`: a new send must wait behind them. */
  isWaitingForDrain(): boolean {
    return this.#size > 0 && (this.#flags & DEFERRED) === 0;
  }

  /**
   * Accepts `bytes` (non-empty) sent during loop iteration `iteration` (-1: outside the
   * loop's steps). While earlier bytes wait for `drain`, these join them (`Pending`).
   */
  send(writer: Writer, bytes: Uint8Array, iteration: number): Written {
    const flags = this.#flags;
    const size = this.#size;
    const waitingForDrain = size > 0 && (flags & DEFERRED) === 0;
    // May wait for the iteration's end: nothing waits for drain, and the limit is not passed.
    const coalescible = !waitingForDrain && size + bytes.length <= COALESCE_LIMIT;
    let kept = bytes;
    let result: Written | typeof FLUSH_NOW;
    if (coalescible && (flags & DEFERRED) !== 0) {
      result = Written.Done; // joins the bytes already deferred
    } else if (
      coalescible &&
      iteration >= 0 &&
      ((flags & COALESCING) !== 0 || iteration === this.#lastDirectWrite)
    ) {
      this.#flags = flags | COALESCING | DEFERRED;
      result = Written.Deferred;
    } else if (size === 0) {
      if (coalescible && iteration >= 0) this.#lastDirectWrite = iteration;
      // Nothing queued: write at once and keep only what the socket did not take.
      const written = writer.write(bytes, 0, bytes.length);
      if (written === bytes.length) return Written.Done;
      if (written < 0) result = Written.Failed;
      else {
        kept = bytes.subarray(written);
        result = Written.Pending;
      }
    } else {
      // Behind bytes waiting for drain; or deferred ones, with which this brings too much:
      // then everything is written now.
      result = waitingForDrain ? Written.Pending : FLUSH_NOW;
    }
    if (this.#chunks === null) this.#chunks = [kept];
    else this.#chunks.push(kept);
    this.#size = size + kept.length;
    return result === FLUSH_NOW ? this.flush(writer) : result;
  }

  /** The end of the iteration: updates the coalescing policy, then flushes (if deferred). */
  atIterationEnd(writer: Writer): Written {
    let flags = this.#flags;
    if ((flags & DEFERRED) === 0) return Written.Done;
    flags &= ~DEFERRED;
    if ((this.#chunks as Uint8Array[]).length > 1) {
      flags &= COALESCING; // several chunks: the count of single flushes starts again
    } else {
      flags += SINGLE_FLUSH;
      // Enough single flushes in a row: back to writing at once, the count at zero.
      if (flags >= SINGLE_FLUSHES_BEFORE_DIRECT * SINGLE_FLUSH) flags = 0;
    }
    this.#flags = flags;
    return this.flush(writer);
  }

  /** Writes everything now, in one `write` call (no longer waiting for the iteration's end). */
  flush(writer: Writer): Written {
    this.#flags &= ~DEFERRED;
    const chunks = this.#chunks;
    const size = this.#size;
    if (chunks === null || size === 0) return Written.Done;
    // Several chunks are joined in the shared scratch buffer, so that the usual flush (a
    // reply and a prompt, written whole) allocates nothing: `write` copies what it takes
    // before returning, and only a rest it did not take is copied out to stay.
    const bytes =
      chunks.length === 1
        ? (chunks[0] as Uint8Array)
        : size <= scratch.length
          ? joinIntoScratch(chunks)
          : concat(chunks, size);
    const written = writer.write(bytes, 0, size);
    if (written < 0) return Written.Failed;
    chunks.length = 0;
    if (written === size) {
      this.#size = 0;
      return Written.Done;
    }
    chunks.push(bytes === scratch ? scratch.slice(written, size) : bytes.subarray(written));
    this.#size = size - written;
    return Written.Pending;
  }

  /** Drops every byte; returns how many there were. */
  clear(): number {
    const dropped = this.#size;
    if (this.#chunks !== null) this.#chunks.length = 0;
    this.#size = 0;
    this.#flags &= ~DEFERRED;
    return dropped;
  }
}

/**
 * Chunks up to this many bytes are copied into the scratch buffer byte by byte: for the
 * replies of a pipelined protocol (`+OK\r\n`) a loop the JIT compiles beats a call to
 * `set` (measured: about 6 against 15–30 ns for a 5- or 9-byte chunk; at 48–64 bytes `set` wins).
 */
const SMALL_COPY = 16;

/** Where flushes of several small chunks are joined (one for every outbox: writes are synchronous). */
const scratch = new Uint8Array(COALESCE_LIMIT);

/** `chunks` joined at the start of the scratch buffer (their total fits in it). */
function joinIntoScratch(chunks: Uint8Array[]): Uint8Array {
  let offset = 0;
  for (const chunk of chunks) {
    const length = chunk.length;
    if (length > SMALL_COPY) scratch.set(chunk, offset);
    else for (let i = 0; i < length; i++) scratch[offset + i] = chunk[i] as number;
    offset += length;
  }
  return scratch;
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
