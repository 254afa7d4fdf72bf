/**
 * The bytes a connection has received and nobody has read yet: the chunks Bun handed to the
 * `data` callback, kept in arrival order and never copied on the way in (Bun gives every
 * callback a fresh buffer, so holding on to it is safe). Reading hands out whole chunks or
 * views of them; only a read that spans several chunks copies.
 *
 * A decoder needs the unread bytes contiguous. `contiguous()` joins the chunks into one
 * array with room to spare, and later calls append only the newly arrived chunks into that
 * room (doubling it when full), so a frame that arrives in many chunks is copied about once,
 * not once per chunk. Bytes handed out are never written again: appending only writes past
 * the end of what was joined.
 */

const EMPTY = new Uint8Array(0);
/**
 * Frames up to this many bytes are copied out of their chunk, not viewed: in JavaScriptCore a
 * small array and a byte loop cost a fifth of what a view costs (`subarray` allocates a view
 * that refers to the chunk's ArrayBuffer; 16 bytes: 17 ns against 60–90 ns, Bun 1.4.5), a
 * latin1 `toString` of it is cheaper too, and the frame does not keep the whole chunk alive.
 * Around 64 bytes the two cost the same.
 */
const SMALL_FRAME = 32;
/** Consumed slots at the front of the chunk list that trigger a compaction. */
const COMPACT_AFTER = 256;

export class ReceiveBuffer {
  /** Unread bytes. */
  size = 0;
  /** Chunks in arrival order; entries before `#first` are consumed. */
  readonly #chunks: Uint8Array[] = [];
  #first = 0;
  /** Bytes of `#chunks[#first]` already read. */
  #offset = 0;
  /** The array `contiguous()` joins into, with spare room at its end, or null. */
  #store: Uint8Array | null = null;
  /** The view of `#store` that is `#chunks[#first]`: its bytes from `#storeStart` to `#storeEnd`. */
  #storeView: Uint8Array | null = null;
  #storeStart = 0;
  #storeEnd = 0;

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.size += chunk.length;
  }

  /** At most `max` bytes (at least 1 if any are buffered) from the front, without copying. */
  take(max: number): Uint8Array {
    const chunk = this.#chunks[this.#first];
    if (chunk === undefined) return EMPTY;
    const offset = this.#offset;
    const available = chunk.length - offset;
    if (available <= max) {
      this.#advance();
      this.size -= available;
      return offset === 0 ? chunk : chunk.subarray(offset);
    }
    this.#offset = offset + max;
    this.size -= max;
    return chunk.subarray(offset, offset + max);
  }

  /**
   * Exactly `n` bytes (`n <= size`) from the front: a view of the chunk they lie in, a copy
   * when they span chunks or are at most `SMALL_FRAME` bytes (see there).
   */
  takeExactly(n: number): Uint8Array {
    const chunk = this.#chunks[this.#first];
    if (chunk === undefined) return EMPTY;
    const offset = this.#offset;
    const available = chunk.length - offset;
    if (available > n) {
      // Within the first chunk, with bytes after it (a burst of small frames).
      this.#offset = offset + n;
      this.size -= n;
      return n <= SMALL_FRAME ? copyOf(chunk, offset, n) : chunk.subarray(offset, offset + n);
    }
    if (available === n) {
      if (offset === 0) return this.take(n);
      this.#advance();
      this.size -= n;
      return n <= SMALL_FRAME ? copyOf(chunk, offset, n) : chunk.subarray(offset);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const part = this.take(n - filled);
      out.set(part, filled);
      filled += part.length;
    }
    return out;
  }

  /** Drops `n` bytes (`n <= size`) from the front. */
  skip(n: number): void {
    this.size -= n;
    while (n > 0) {
      const available = (this.#chunks[this.#first] as Uint8Array).length - this.#offset;
      if (available > n) {
        this.#offset += n;
        return;
      }
      n -= available;
      this.#advance();
    }
  }

  /**
   * Every unread byte as one array (a view of the one chunk when there is only one). The
   * bytes stay buffered; consume them with `skip`.
   */
  contiguous(): Uint8Array {
    const head = this.joinedHead();
    return this.#offset === 0 ? head : head.subarray(this.#offset);
  }

  /**
   * The array every unread byte lies in, contiguous, from `headOffset()` on: `contiguous()`
   * without the view, which costs more than a decoder's own offset (`Decoder.decodeAt`).
   */
  joinedHead(): Uint8Array {
    const chunks = this.#chunks;
    const first = this.#first;
    const head = chunks[first];
    if (head === undefined) return EMPTY;
    if (first === chunks.length - 1) return head;
    const size = this.size;
    const restStart = first + 1;
    let store = this.#store;
    let end: number;
    if (
      store !== null &&
      head === this.#storeView &&
      store.length - this.#storeEnd >= size - (head.length - this.#offset)
    ) {
      end = this.#storeEnd;
    } else {
      // Start a new store, twice what is needed now, holding the unread bytes.
      store = new Uint8Array(Math.max(size * 2, 4096));
      store.set(this.#offset === 0 ? head : head.subarray(this.#offset));
      end = head.length - this.#offset;
      this.#store = store;
      this.#storeStart = 0;
      this.#offset = 0;
    }
    for (let i = restStart; i < chunks.length; i++) {
      const chunk = chunks[i] as Uint8Array;
      store.set(chunk, end);
      end += chunk.length;
    }
    const view = store.subarray(this.#storeStart, end);
    this.#storeEnd = end;
    this.#storeView = view;
    chunks.length = 0;
    chunks.push(view);
    this.#first = 0;
    return view;
  }

  /** Where the unread bytes start in `joinedHead()`. */
  headOffset(): number {
    return this.#offset;
  }

  /** Everything buffered, as one array. */
  takeAll(): Uint8Array {
    return this.size === 0 ? EMPTY : this.takeExactly(this.size);
  }

  /**
   * Position of the first occurrence of `delimiter` in the unread bytes at or after `from`,
   * or -1. Scans each chunk with the native `indexOf` for the delimiter's first byte and
   * checks candidates across chunk boundaries.
   */
  indexOf(delimiter: Uint8Array, from: number): number {
    const lead = delimiter[0] as number;
    const chunks = this.#chunks;
    if (this.#first === chunks.length - 1) {
      // One chunk (the usual case: a burst of small frames): no boundaries to look across.
      const chunk = chunks[this.#first] as Uint8Array;
      const start = this.#offset;
      const last = chunk.length - delimiter.length;
      let at = chunk.indexOf(lead, start + from);
      while (at !== -1 && at <= last) {
        if (matchesIn(chunk, at, delimiter)) return at - start;
        at = chunk.indexOf(lead, at + 1);
      }
      return -1;
    }
    let base = 0; // position of the first unread byte of chunk i
    for (let i = this.#first; i < chunks.length; i++) {
      const chunk = chunks[i] as Uint8Array;
      const start = i === this.#first ? this.#offset : 0;
      const length = chunk.length - start;
      if (base + length > from) {
        let at = chunk.indexOf(lead, start + Math.max(0, from - base));
        while (at !== -1) {
          if (this.#matchesAt(delimiter, i, at)) return base + at - start;
          at = chunk.indexOf(lead, at + 1);
        }
      }
      base += length;
    }
    return -1;
  }

  /** Drops every buffered byte (the connection is closed; nobody will read them). */
  clear(): void {
    this.#store = null;
    this.#storeView = null;
    this.#chunks.length = 0;
    this.#first = 0;
    this.#offset = 0;
    this.size = 0;
  }

  #matchesAt(delimiter: Uint8Array, index: number, at: number): boolean {
    const chunks = this.#chunks;
    let chunk = chunks[index] as Uint8Array;
    for (let d = 0; d < delimiter.length; d++, at++) {
      while (at >= chunk.length) {
        const next = chunks[++index];
        if (next === undefined) return false;
        chunk = next;
        at = 0;
      }
      if (chunk[at] !== delimiter[d]) return false;
    }
    return true;
  }

  #advance(): void {
    if (this.#chunks[this.#first] === this.#storeView) {
      this.#store = null;
      this.#storeView = null;
    }
    this.#offset = 0;
    if (++this.#first === this.#chunks.length) {
      // Drained: reuse the array instead of letting it grow.
      this.#chunks.length = 0;
      this.#first = 0;
    } else if (this.#first >= COMPACT_AFTER) {
      // A reader that never quite catches up: drop the consumed slots now and then.
      this.#chunks.splice(0, this.#first);
      this.#first = 0;
    } else {
      // Let the consumed chunk be collected.
      this.#chunks[this.#first - 1] = EMPTY;
    }
  }
}

/** `n` bytes of `chunk` from `start`, copied (small: a loop beats `set` and `slice`). */
function copyOf(chunk: Uint8Array, start: number, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = chunk[start + i] as number;
  return bytes;
}

/** `delimiter` is at `at` in `chunk` (which has room for it there). */
function matchesIn(chunk: Uint8Array, at: number, delimiter: Uint8Array): boolean {
  for (let d = 1; d < delimiter.length; d++) if (chunk[at + d] !== delimiter[d]) return false;
  return true;
}
