/**
 * The decoder API (in the spirit of tokio-util's `Decoder`): a protocol's framing written as
 * one synchronous function over the bytes a stream has buffered, which `stream.frames()`,
 * `stream.receiveFrame()` and `stream.receiveLine()` call — so a protocol parser never
 * awaits for bytes that are already there. Plus three ready-made decoders: lines,
 * length-prefixed frames and delimiter-separated frames.
 *
 * A decoder sees every buffered unread byte, contiguous, and either returns the next frame
 * and how many bytes it used, returns null (no whole frame yet: the stream waits for more
 * and calls it again with everything), or throws (the read rejects with that error and the
 * bytes stay buffered). A frame that lies in one received chunk is handed to the decoder as
 * a view of that chunk, so a decoder that returns `bytes.subarray(...)` copies nothing.
 *
 * A decoder may also return `{ drop: n }`: discard the first `n` bytes and call it again, with
 * no frame. `LinesDecoder` uses it to skip the rest of a line it reported as too long, as
 * tokio's `LinesCodec` does, so the stream stays usable after the error.
 */
import { checkInteger, checkOptions, isInstance } from "../arguments.ts";
import { describe, GiambioError, nameOnPrototypes } from "../errors.ts";

/** A frame and the number of bytes it used (at least 1). */
export interface Decoded<Frame> {
  frame: Frame;
  length: number;
}

/** "Discard the first `drop` bytes (at least 1), then call `decode` again." */
export interface Dropped {
  drop: number;
}

export interface Decoder<Frame> {
  /**
   * Called with every buffered unread byte, contiguous. Returns the next frame and how many
   * bytes it used, null when no whole frame is buffered yet, or `{ drop }` to discard bytes.
   * May throw: the read rejects with that error. The framework reads the result at once, so
   * a decoder may reuse one result object.
   */
  decode(bytes: Uint8Array): Decoded<Frame> | Dropped | null;
  /**
   * Optional: `decode` of the bytes from `start` on (`bytes.subarray(start)`), for a decoder
   * that can read from an offset. The stream then calls it instead of `decode`, and spares
   * a view per frame (in JavaScriptCore a `subarray` costs about what decoding a short
   * frame does). `length` and `drop` count from `start`.
   */
  decodeAt?(bytes: Uint8Array, start: number): Decoded<Frame> | Dropped | null;
}

/**
 * A frame longer than allowed: by the stream's `maxFrameLength`, or by a decoder's own
 * `maxLength`. The bytes stay in the stream unless the error says otherwise.
 */
export class FrameTooLongError extends RangeError {}

/**
 * A line longer than `LinesDecoder`'s `maxLength`. The stream stays usable: the next read
 * skips the rest of that line (through its newline) and returns the line after it.
 */
export class LineTooLongError extends FrameTooLongError {}

nameOnPrototypes({ FrameTooLongError, LineTooLongError });

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Options of `new LinesDecoder(...)`. */
export interface LinesDecoderOptions {
  /** Longest line accepted, in bytes, without its terminator. Default: no limit of its own (the stream's `maxFrameLength` applies). */
  maxLength?: number;
}

/**
 * Lines ending in `\n` or `\r\n`, as strings (UTF-8) without the terminator. A line over
 * `maxLength` bytes is a `LineTooLongError` as soon as that is known; the next read then
 * skips to the end of that line. It keeps that state, so use one instance per stream.
 */
export class LinesDecoder implements Decoder<string> {
  readonly maxLength: number;
  #discarding = false;
  readonly #result: Decoded<string> = { frame: "", length: 0 };
  readonly #drop: Dropped = { drop: 0 };

  constructor(options: LinesDecoderOptions = {}) {
    checkOptions("new LinesDecoder(options)", options, LINES_OPTIONS, "{ maxLength: 1024 }");
    this.maxLength =
      options.maxLength === undefined
        ? Number.POSITIVE_INFINITY
        : checkInteger("new LinesDecoder({ maxLength })", options.maxLength, 0, true);
  }

  decode(bytes: Uint8Array): Decoded<string> | Dropped | null {
    return this.decodeAt(bytes, 0);
  }

  decodeAt(bytes: Uint8Array, start: number): Decoded<string> | Dropped | null {
    const newline = bytes.indexOf(NEWLINE, start);
    if (this.#discarding) {
      // Skipping the rest of a line already reported as too long.
      if (newline !== -1) this.#discarding = false;
      this.#drop.drop = (newline === -1 ? bytes.length : newline + 1) - start;
      return this.#drop;
    }
    if (newline === -1) {
      const size = bytes.length - start;
      const cr = size > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN ? 1 : 0;
      if (size - cr > this.maxLength) this.#tooLong(`more than ${this.maxLength}`);
      return null;
    }
    const end = newline > start && bytes[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
    if (end - start > this.maxLength) this.#tooLong(String(end - start));
    const result = this.#result;
    result.frame = end === start ? "" : utf8Text(bytes, start, end);
    result.length = newline + 1 - start;
    return result;
  }

  #tooLong(length: string): never {
    this.#discarding = true;
    throw new LineTooLongError(
      `a line of ${length} bytes is longer than LinesDecoder's maxLength (${this.maxLength}); it is skipped, and the next read returns the line after it`,
    );
  }
}

/** Options of `new LengthPrefixedDecoder(...)`. */
export interface LengthPrefixedDecoderOptions {
  /** Size of the length header: 1, 2 or 4 bytes (default 4). */
  lengthBytes?: 1 | 2 | 4;
  /** The header is little-endian (default false: big-endian, network order). */
  littleEndian?: boolean;
  /** The length counts the header too (default false: only the payload). */
  lengthIncludesHeader?: boolean;
  /** Largest payload accepted, in bytes. Default: no limit of its own (the stream's `maxFrameLength` applies). */
  maxLength?: number;
}

/**
 * Frames preceded by their length (an unsigned 1-, 2- or 4-byte integer). Each frame is the
 * payload without the header, a view of the received bytes when it lies in one chunk. A
 * declared length over `maxLength` is a `FrameTooLongError` at once, before the payload
 * arrives; the stream cannot find the next frame after that, so close the connection.
 */
export class LengthPrefixedDecoder implements Decoder<Uint8Array> {
  readonly lengthBytes: 1 | 2 | 4;
  readonly littleEndian: boolean;
  readonly lengthIncludesHeader: boolean;
  readonly maxLength: number;
  readonly #result: Decoded<Uint8Array> = { frame: new Uint8Array(0), length: 0 };

  constructor(options: LengthPrefixedDecoderOptions = {}) {
    const what = "new LengthPrefixedDecoder(options)";
    checkOptions(what, options, LENGTH_PREFIXED_OPTIONS, "{ lengthBytes: 2 }");
    // undefined means absent; null is never a default (a TypeError, like any non-number).
    const lengthBytes = options.lengthBytes === undefined ? 4 : options.lengthBytes;
    if (typeof lengthBytes !== "number") {
      throw new TypeError(
        `new LengthPrefixedDecoder({ lengthBytes }) must be 1, 2 or 4, got ${describe(lengthBytes)}`,
      );
    }
    if (lengthBytes !== 1 && lengthBytes !== 2 && lengthBytes !== 4) {
      throw new RangeError(
        `new LengthPrefixedDecoder({ lengthBytes }) must be 1, 2 or 4, got ${describe(lengthBytes)}`,
      );
    }
    this.lengthBytes = lengthBytes;
    this.littleEndian = checkFlag(
      "new LengthPrefixedDecoder({ littleEndian })",
      options.littleEndian,
    );
    this.lengthIncludesHeader = checkFlag(
      "new LengthPrefixedDecoder({ lengthIncludesHeader })",
      options.lengthIncludesHeader,
    );
    this.maxLength =
      options.maxLength === undefined
        ? Number.POSITIVE_INFINITY
        : checkInteger("new LengthPrefixedDecoder({ maxLength })", options.maxLength, 0, true);
  }

  decode(bytes: Uint8Array): Decoded<Uint8Array> | null {
    return this.decodeAt(bytes, 0);
  }

  decodeAt(bytes: Uint8Array, start: number): Decoded<Uint8Array> | null {
    const header = this.lengthBytes;
    if (bytes.length - start < header) return null;
    let declared = readLength(bytes, start, header, this.littleEndian);
    if (this.lengthIncludesHeader) {
      if (declared < header) {
        throw new GiambioError(
          `LengthPrefixedDecoder: a header declares ${declared} bytes including itself, fewer than the ${header}-byte header`,
        );
      }
      declared -= header;
    }
    if (declared > this.maxLength) {
      throw new FrameTooLongError(
        `LengthPrefixedDecoder: a header declares a ${declared}-byte frame, over its maxLength (${this.maxLength})`,
      );
    }
    const length = header + declared;
    if (bytes.length - start < length) return null;
    const result = this.#result;
    result.frame = bytes.subarray(start + header, start + length);
    result.length = length;
    return result;
  }
}

function readLength(bytes: Uint8Array, at: number, size: 1 | 2 | 4, littleEndian: boolean): number {
  const b0 = bytes[at] as number;
  if (size === 1) return b0;
  const b1 = bytes[at + 1] as number;
  if (size === 2) return littleEndian ? b0 | (b1 << 8) : (b0 << 8) | b1;
  const b2 = bytes[at + 2] as number;
  const b3 = bytes[at + 3] as number;
  return littleEndian
    ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
    : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

/** Options of `new DelimiterDecoder(...)`. */
export interface DelimiterDecoderOptions {
  /** Longest frame accepted, in bytes, without the delimiter. Default: no limit of its own (the stream's `maxFrameLength` applies). */
  maxLength?: number;
}

/**
 * Frames separated by a delimiter (a string is UTF-8 encoded), each without the delimiter,
 * as a view of the received bytes when it lies in one chunk. A frame over `maxLength` is a
 * `FrameTooLongError`, leaving the bytes in the stream.
 */
export class DelimiterDecoder implements Decoder<Uint8Array> {
  readonly delimiter: Uint8Array;
  readonly maxLength: number;
  readonly #result: Decoded<Uint8Array> = { frame: new Uint8Array(0), length: 0 };

  constructor(delimiter: Uint8Array | string, options: DelimiterDecoderOptions = {}) {
    const bytes = typeof delimiter === "string" ? utf8Encoder.encode(delimiter) : delimiter;
    // isInstance: a Proxy whose prototype trap throws gets this TypeError, not its own error.
    if (!isInstance(bytes, Uint8Array)) {
      throw new TypeError(
        `new DelimiterDecoder(delimiter) must be a non-empty string or Uint8Array, got ${describe(delimiter)}`,
      );
    }
    if (bytes.length === 0) {
      throw new TypeError(
        `new DelimiterDecoder(delimiter) must not be empty, got ${describe(delimiter)} of length 0`,
      );
    }
    checkOptions(
      "new DelimiterDecoder(delimiter, options)",
      options,
      DELIMITER_OPTIONS,
      "{ maxLength: 1024 }",
    );
    this.delimiter = bytes.slice();
    this.maxLength =
      options.maxLength === undefined
        ? Number.POSITIVE_INFINITY
        : checkInteger(
            "new DelimiterDecoder(delimiter, { maxLength })",
            options.maxLength,
            0,
            true,
          );
  }

  decode(bytes: Uint8Array): Decoded<Uint8Array> | null {
    return this.decodeAt(bytes, 0);
  }

  decodeAt(bytes: Uint8Array, start: number): Decoded<Uint8Array> | null {
    const at = indexOfBytes(bytes, this.delimiter, start);
    if (at === -1) {
      if (bytes.length - start - (this.delimiter.length - 1) > this.maxLength) this.#tooLong();
      return null;
    }
    if (at - start > this.maxLength) this.#tooLong();
    const result = this.#result;
    result.frame = bytes.subarray(start, at);
    result.length = at - start + this.delimiter.length;
    return result;
  }

  #tooLong(): never {
    throw new FrameTooLongError(
      `DelimiterDecoder: no delimiter within ${this.maxLength} bytes (its maxLength); the bytes stay in the stream`,
    );
  }
}

/** Position of `needle` (non-empty) in `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const lead = needle[0] as number;
  if (needle.length === 1) return haystack.indexOf(lead, from);
  const last = haystack.length - needle.length;
  let at = haystack.indexOf(lead, from);
  while (at !== -1 && at <= last) {
    let i = 1;
    while (i < needle.length && haystack[at + i] === needle[i]) i++;
    if (i === needle.length) return at;
    at = haystack.indexOf(lead, at + 1);
  }
  return -1;
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();
const bufferToString = Buffer.prototype.toString;

/**
 * The bytes from `start` to `end` as UTF-8 text, exactly as `TextDecoder` decodes them. Bun's
 * `Buffer` method decodes a range in place, so no view is made first (a line: ~50 ns less);
 * it replaces malformed sequences the same way (every 1- and 2-byte input and ~0.8 M 4-byte
 * ones compared), but keeps a leading byte order mark, which `TextDecoder` drops.
 */
function utf8Text(bytes: Uint8Array, start: number, end: number): string {
  if (bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) {
    return utf8.decode(bytes.subarray(start, end));
  }
  return bufferToString.call(bytes, "utf8", start, end);
}

const LINES_OPTIONS = ["maxLength"];
const LENGTH_PREFIXED_OPTIONS = [
  "lengthBytes",
  "littleEndian",
  "lengthIncludesHeader",
  "maxLength",
];
const DELIMITER_OPTIONS = ["maxLength"];

function checkFlag(what: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw new TypeError(`${what} must be true or false, got ${describe(value)}`);
  }
  return value;
}
