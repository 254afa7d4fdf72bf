/**
 * A Redis-compatible key-value server (RESP2), on giambio for Bun.
 *
 *   bun examples/redis-server.ts     # HOST (default 127.0.0.1), PORT (default 6379; 0 = any free port)
 *   redis-cli set greeting hello     # then: redis-cli get greeting
 *   redis-benchmark -t set,get -q
 *
 * One task per connection (`serve`). The task reads commands with
 * `for await (const commands of stream.frameBatches(decoder))`: the decoder below is plain,
 * synchronous code over the bytes already received, so a pipelined burst of commands comes
 * as one array, without a wait per command, and its replies leave with one `sendAll`. A protocol error is answered with
 * `-ERR Protocol error: ...` and closes that connection only; nothing a client sends can
 * take the server down.
 *
 * Strings only, one database. Keys and values are binary-safe: every byte is kept as one
 * character (latin1), so the lengths in the protocol are string lengths. Expiry uses the
 * loop's clock: keys are checked when touched, and a task sleeps until the earliest
 * deadline to remove the others (no polling). Ctrl+C ends it at once (status 0). SIGTERM
 * drains it: idle connections are closed at once, a command being read is answered, then
 * status 0; a second SIGTERM ends it at once (status 143).
 *
 * Sections: the RESP decoder, replies, the store, the commands, the server.
 */
import {
  BrokenResourceError,
  type ByteStream,
  clock,
  type Decoded,
  type Decoder,
  Event,
  IncompleteReadError,
  KeyboardInterrupt,
  listen,
  run,
  type SocketStream,
  skipAfter,
  Terminated,
  withPool,
} from "../src/index.ts";

// ---------------------------------------------------------------- the RESP decoder

/** A client broke the protocol; the connection is answered `-ERR Protocol error: <message>` and closed. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** The longest inline command (redis: PROTO_INLINE_MAX_SIZE). */
export const MAX_INLINE_LENGTH = 64 * 1024;
/** The longest bulk string (redis: proto-max-bulk-len). A longer one is refused before it is buffered. */
export const MAX_BULK_LENGTH = 512 * 1024 * 1024;
/** The most arguments in one command. */
export const MAX_ARGUMENTS = 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;
const DOLLAR = 0x24;
const MINUS = 0x2d;

/**
 * RESP2 requests: arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`), which is what
 * every client library sends, and inline commands (`GET k\r\n`, words separated by spaces,
 * quotes as in redis), which is what telnet users type. Each frame is the command's
 * arguments, as latin1 strings; an empty line or an empty array gives an empty frame.
 *
 * Use one decoder per connection: it remembers how far it got through a command that has
 * only partly arrived, so a large command arriving in many chunks is parsed once, not once
 * per chunk (the stream hands the decoder every unread byte each time, starting at the same
 * place until a frame is taken).
 */
export class RespDecoder implements Decoder<string[]> {
  /** Arguments of the partly received command, parsed so far. */
  #args: string[] = [];
  /** Arguments still to come in that command; -1 when between commands. */
  #missing = -1;
  /** Where the next argument starts in the unread bytes. */
  #offset = 0;
  /** The value of the last length line `#lengthLine` read. */
  #length = 0;
  /** Reused for every result: the stream reads it at once. */
  readonly #decoded: Decoded<string[]> = { frame: [], length: 0 };

  decode(bytes: Uint8Array): Decoded<string[]> | null {
    return this.decodeAt(bytes, 0);
  }

  /** `decode` of the bytes from `start` on, without a view of them (see `Decoder.decodeAt`). */
  decodeAt(bytes: Uint8Array, start: number): Decoded<string[]> | null {
    if (this.#missing < 0) {
      if (bytes.length === start) return null;
      if (bytes[start] !== STAR) return this.#inline(bytes, start);
      const next = this.#lengthLine(bytes, start + 1, "invalid multibulk length");
      if (next < 0) return null;
      const count = this.#length;
      if (count > MAX_ARGUMENTS) throw new ProtocolError("invalid multibulk length");
      // `*0` and `*-1` are no command at all (redis skips them).
      if (count <= 0) return this.#done([], next - start);
      this.#missing = count;
      this.#offset = next - start;
    }
    const args = this.#args;
    let offset = start + this.#offset;
    while (this.#missing > 0) {
      if (offset >= bytes.length) break;
      if (bytes[offset] !== DOLLAR) {
        throw new ProtocolError(
          `expected '$', got '${String.fromCharCode(bytes[offset] as number)}'`,
        );
      }
      const argStart = this.#lengthLine(bytes, offset + 1, "invalid bulk length");
      if (argStart < 0) break;
      const length = this.#length;
      if (length < 0 || length > MAX_BULK_LENGTH) throw new ProtocolError("invalid bulk length");
      const stop = argStart + length;
      if (stop + 2 > bytes.length) break;
      if (bytes[stop] !== CR || bytes[stop + 1] !== LF) {
        throw new ProtocolError("expected CRLF after a bulk string");
      }
      args.push(latin1(bytes, argStart, stop));
      offset = stop + 2;
      this.#missing--;
    }
    this.#offset = offset - start;
    if (this.#missing > 0) return null;
    this.#args = [];
    this.#missing = -1;
    this.#offset = 0;
    return this.#done(args, offset - start);
  }

  /**
   * Reads the decimal length that starts at `from` and ends with `\r\n`, as redis writes it
   * (`-1`, `0`, `42`: no `+`, no leading zeros, at most 12 digits), into `#length`. Returns
   * where the line ends (after the `\r\n`), or -1 if it has not fully arrived; anything
   * else in the line is the protocol error `invalid`, as soon as it arrives.
   */
  #lengthLine(bytes: Uint8Array, from: number, invalid: string): number {
    const n = bytes.length;
    const negative = bytes[from] === MINUS;
    const first = negative ? from + 1 : from;
    let value = 0;
    let i = first;
    for (; i < n; i++) {
      const digit = (bytes[i] as number) - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    const digits = i - first;
    if (digits > 12 || (digits > 1 && bytes[first] === 0x30)) throw new ProtocolError(invalid);
    if (i === n) return -1;
    if (digits === 0 || bytes[i] !== CR || (negative && value === 0)) {
      throw new ProtocolError(invalid);
    }
    if (i + 1 === n) return -1;
    if (bytes[i + 1] !== LF) throw new ProtocolError(invalid);
    this.#length = negative ? -value : value;
    return i + 2;
  }

  /** An inline command: one line, `\n` or `\r\n` terminated, from `start`. */
  #inline(bytes: Uint8Array, start: number): Decoded<string[]> | null {
    const newline = bytes.indexOf(LF, start);
    if (newline < 0) {
      if (bytes.length - start > MAX_INLINE_LENGTH) {
        throw new ProtocolError("too big inline request");
      }
      return null;
    }
    return this.#done(splitInlineArgs(latin1(bytes, start, newline)), newline + 1 - start);
  }

  #done(frame: string[], length: number): Decoded<string[]> {
    this.#decoded.frame = frame;
    this.#decoded.length = length;
    return this.#decoded;
  }
}

/**
 * Bytes as a string of the same length, one character per byte. Bun's `Buffer` method works
 * on any `Uint8Array` and gives a flat string: one built a character at a time is a rope,
 * which makes every later `Map` lookup with it slower (measured: 2× the cost of a GET).
 */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.prototype.toString.call(bytes, "latin1", start, end);
}

/**
 * An inline command's words, split as redis's `sdssplitargs` does: separated by white
 * space; `"..."` with C escapes (`\n`, `\xff`, ...), `'...'` with only `\'`; a closing quote
 * must end the word.
 */
export function splitInlineArgs(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && isSpace(line.charCodeAt(i))) i++;
    if (i === line.length) return args;
    let word = "";
    const quote = line[i];
    if (quote === '"' || quote === "'") {
      i++;
      for (;;) {
        if (i >= line.length) throw new ProtocolError("unbalanced quotes in request");
        const char = line[i] as string;
        if (char === quote) {
          i++;
          break;
        }
        if (char === "\\" && i + 1 < line.length) {
          const escaped = line[i + 1] as string;
          if (quote === "'") {
            word += escaped === "'" ? "'" : `\\${escaped}`;
            i += 2;
          } else if (escaped === "x" && isHex(line, i + 2) && isHex(line, i + 3)) {
            word += String.fromCharCode(Number.parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
          } else {
            word += C_ESCAPES[escaped] ?? escaped;
            i += 2;
          }
          continue;
        }
        word += char;
        i++;
      }
      if (i < line.length && !isSpace(line.charCodeAt(i))) {
        throw new ProtocolError("unbalanced quotes in request");
      }
    } else {
      const start = i;
      while (i < line.length && !isSpace(line.charCodeAt(i))) i++;
      word = line.slice(start, i);
    }
    args.push(word);
  }
}

const C_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", a: "\x07" };

function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function isHex(text: string, at: number): boolean {
  return /^[0-9a-fA-F]$/.test(text[at] ?? "");
}

// ---------------------------------------------------------------- replies

/** A reply, as the RESP bytes it is sent as (one latin1 character per byte). */
type Reply = string;

const OK: Reply = "+OK\r\n";
const PONG: Reply = "+PONG\r\n";
const NIL: Reply = "$-1\r\n";
const EMPTY_ARRAY: Reply = "*0\r\n";
const SYNTAX_ERROR: Reply = "-ERR syntax error\r\n";
const NOT_AN_INTEGER: Reply = "-ERR value is not an integer or out of range\r\n";

const bulk = (value: string): Reply => `$${value.length}\r\n${value}\r\n`;
const integer = (value: number | bigint): Reply => `:${value}\r\n`;
const error = (message: string): Reply => `-ERR ${message}\r\n`;
const array = (items: Reply[]): Reply => `*${items.length}\r\n${items.join("")}`;

// ---------------------------------------------------------------- the store

interface Entry {
  value: string;
  /** When the key expires, on the store's clock (ms); Infinity if never. */
  expiresAt: number;
}

/**
 * The keys, with their expiry. An expired key is gone for every command from its deadline
 * on: each access checks it, and `removeExpired` (run by a task sleeping until
 * `nextDeadline()`) frees the keys nobody touches.
 */
export class Store {
  readonly now: () => number;
  /** Called when a deadline earlier than every other is set, to wake the sweeping task. */
  onEarlierDeadline: () => void = () => {};
  readonly #entries = new Map<string, Entry>();
  /** Deadlines of keys with a TTL; an entry whose key has another deadline now is stale. */
  readonly #deadlines = new DeadlineHeap();
  /** Keys with a TTL, to know when the heap is mostly stale. */
  #volatileKeys = 0;

  constructor(now: () => number) {
    this.now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live entry of `key`, if any (an expired one is removed). */
  get(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.expiresAt === Number.POSITIVE_INFINITY) return entry;
    if (entry.expiresAt > this.now()) return entry;
    this.delete(key);
    return undefined;
  }

  set(key: string, value: string, expiresAt = Number.POSITIVE_INFINITY): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#entries.set(key, { value, expiresAt: Number.POSITIVE_INFINITY });
      if (expiresAt !== Number.POSITIVE_INFINITY) this.expire(key, expiresAt);
      return;
    }
    entry.value = value;
    if (entry.expiresAt !== expiresAt) this.expire(key, expiresAt);
  }

  /** Sets the deadline of an existing key (Infinity: persist it). */
  expire(key: string, expiresAt: number): void {
    const entry = this.#entries.get(key) as Entry;
    if (entry.expiresAt !== Number.POSITIVE_INFINITY) this.#volatileKeys--;
    entry.expiresAt = expiresAt;
    if (expiresAt === Number.POSITIVE_INFINITY) return;
    this.#volatileKeys++;
    const earliest = this.#deadlines.peek();
    this.#deadlines.push(expiresAt, key);
    if (this.#deadlines.size > 64 && this.#deadlines.size > 2 * this.#volatileKeys) {
      this.#deadlines.keep((deadline, k) => this.#entries.get(k)?.expiresAt === deadline);
    }
    if (earliest === undefined || expiresAt < earliest) this.onEarlierDeadline();
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    if (entry.expiresAt !== Number.POSITIVE_INFINITY) this.#volatileKeys--;
    this.#entries.delete(key);
    return true;
  }

  clear(): void {
    this.#entries.clear();
    this.#deadlines.keep(() => false);
    this.#volatileKeys = 0;
  }

  /** Deadlines held for the sweeper, stale ones included (kept within about twice the keys with a TTL). */
  get trackedDeadlines(): number {
    return this.#deadlines.size;
  }

  /** The earliest deadline of any key (maybe a stale one: waking early is harmless), or Infinity. */
  nextDeadline(): number {
    return this.#deadlines.peek() ?? Number.POSITIVE_INFINITY;
  }

  /** Removes every key whose deadline has passed. */
  removeExpired(): void {
    const now = this.now();
    for (let deadline = this.#deadlines.peek(); deadline !== undefined && deadline <= now; ) {
      const key = this.#deadlines.pop();
      if (this.#entries.get(key)?.expiresAt === deadline) this.delete(key);
      deadline = this.#deadlines.peek();
    }
  }
}

/** A binary min-heap of (deadline, key). */
class DeadlineHeap {
  #deadlines: number[] = [];
  #keys: string[] = [];

  get size(): number {
    return this.#deadlines.length;
  }

  peek(): number | undefined {
    return this.#deadlines[0];
  }

  push(deadline: number, key: string): void {
    const deadlines = this.#deadlines;
    const keys = this.#keys;
    let i = deadlines.length;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((deadlines[parent] as number) <= deadline) break;
      deadlines[i] = deadlines[parent] as number;
      keys[i] = keys[parent] as string;
      i = parent;
    }
    deadlines[i] = deadline;
    keys[i] = key;
  }

  /** Removes the earliest entry and returns its key (the heap must not be empty). */
  pop(): string {
    const deadlines = this.#deadlines;
    const keys = this.#keys;
    const top = keys[0] as string;
    const lastDeadline = deadlines.pop() as number;
    const lastKey = keys.pop() as string;
    const n = deadlines.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && (deadlines[child + 1] as number) < (deadlines[child] as number)) child++;
      if ((deadlines[child] as number) >= lastDeadline) break;
      deadlines[i] = deadlines[child] as number;
      keys[i] = keys[child] as string;
      i = child;
    }
    deadlines[i] = lastDeadline;
    keys[i] = lastKey;
    return top;
  }

  /** Keeps only the entries for which `wanted` is true. */
  keep(wanted: (deadline: number, key: string) => boolean): void {
    const deadlines = this.#deadlines;
    const keys = this.#keys;
    this.#deadlines = [];
    this.#keys = [];
    for (let i = 0; i < deadlines.length; i++) {
      const deadline = deadlines[i] as number;
      const key = keys[i] as string;
      if (wanted(deadline, key)) this.push(deadline, key);
    }
  }
}

/**
 * The store's sweeper: sleeps until the earliest deadline (or until an earlier one is set),
 * then removes the keys that have expired. Runs until cancelled.
 */
export async function expireKeys(store: Store): Promise<never> {
  for (;;) {
    const earlier = new Event();
    store.onEarlierDeadline = () => {
      if (!earlier.isSet) earlier.set();
    };
    const deadline = store.nextDeadline();
    if (deadline === Number.POSITIVE_INFINITY) await earlier.wait();
    else await skipAfter(Math.max(0, deadline - store.now()), () => earlier.wait());
    store.removeExpired();
  }
}

// ---------------------------------------------------------------- the commands

interface Command {
  /** Arguments including the name: n exactly, or -n for at least n (redis's convention). */
  arity: number;
  run(args: string[], store: Store): Reply;
  /** The connection closes after the reply (QUIT). */
  closes?: true;
}

/** Parses a 64-bit signed integer as redis does (no `+`, no leading zeros), or null. */
function parseInteger(text: string): bigint | null {
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(text)) return null;
  const value = BigInt(text);
  return value >= INT64_MIN && value <= INT64_MAX ? value : null;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A TTL argument in `unit` ms as a deadline on the store's clock, or null if out of range. */
function deadlineAfter(store: Store, amount: bigint, unit: number): number | null {
  const ms = amount * BigInt(unit);
  if (ms > BigInt(Number.MAX_SAFE_INTEGER) || ms < -BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return store.now() + Number(ms);
}

function incrementBy(store: Store, key: string, by: bigint): Reply {
  const entry = store.get(key);
  const current = entry === undefined ? 0n : parseInteger(entry.value);
  if (current === null) return NOT_AN_INTEGER;
  const result = current + by;
  if (result < INT64_MIN || result > INT64_MAX) {
    return error("increment or decrement would overflow");
  }
  if (entry === undefined) store.set(key, String(result));
  else entry.value = String(result);
  return integer(result);
}

function set(args: string[], store: Store): Reply {
  const [, key, value] = args as [string, string, string];
  if (args.length === 3) {
    // The common case, without options: no deadline to compute, no old value to read.
    store.set(key, value);
    return OK;
  }
  let expiresAt = Number.POSITIVE_INFINITY;
  let condition: "NX" | "XX" | null = null;
  let keepTtl = false;
  let get = false;
  let ttlGiven = false;
  for (let i = 3; i < args.length; i++) {
    const option = (args[i] as string).toUpperCase();
    if ((option === "NX" || option === "XX") && (condition ?? option) === option) {
      condition = option;
    } else if (option === "GET" && !get) {
      get = true;
    } else if (option === "KEEPTTL" && !keepTtl && !ttlGiven) {
      keepTtl = true;
    } else if ((option === "EX" || option === "PX") && !keepTtl && !ttlGiven) {
      const amount = i + 1 < args.length ? parseInteger(args[++i] as string) : undefined;
      if (amount === undefined) return SYNTAX_ERROR;
      if (amount === null) return NOT_AN_INTEGER;
      const deadline =
        amount > 0n ? deadlineAfter(store, amount, option === "EX" ? 1000 : 1) : null;
      if (deadline === null) return error("invalid expire time in 'set' command");
      expiresAt = deadline;
      ttlGiven = true;
    } else {
      return SYNTAX_ERROR;
    }
  }
  const entry = store.get(key);
  const previous = get ? (entry === undefined ? NIL : bulk(entry.value)) : OK;
  if ((condition === "NX" && entry !== undefined) || (condition === "XX" && entry === undefined)) {
    return get ? previous : NIL;
  }
  store.set(key, value, keepTtl && entry !== undefined ? entry.expiresAt : expiresAt);
  return previous;
}

function expire(args: string[], store: Store, unit: number, name: string): Reply {
  const [, key, amountText] = args as [string, string, string];
  const amount = parseInteger(amountText);
  if (amount === null) return NOT_AN_INTEGER;
  let condition: string | null = null;
  for (const option of args.slice(3).map((arg) => arg.toUpperCase())) {
    if (!["NX", "XX", "GT", "LT"].includes(option)) return error(`Unsupported option ${option}`);
    if (condition !== null && condition !== option) {
      return error(
        option === "GT" || option === "LT" || condition === "GT" || condition === "LT"
          ? "GT and LT options at the same time are not compatible"
          : "NX and XX, GT or LT options at the same time are not compatible",
      );
    }
    condition = option;
  }
  const deadline = deadlineAfter(store, amount, unit);
  if (deadline === null) return error(`invalid expire time in '${name}' command`);
  const entry = store.get(key);
  if (entry === undefined) return integer(0);
  const current = entry.expiresAt;
  const refused =
    (condition === "NX" && current !== Number.POSITIVE_INFINITY) ||
    (condition === "XX" && current === Number.POSITIVE_INFINITY) ||
    (condition === "GT" && !(deadline > current && current !== Number.POSITIVE_INFINITY)) ||
    (condition === "LT" && !(deadline < current));
  if (refused) return integer(0);
  if (deadline <= store.now()) store.delete(key);
  else store.expire(key, deadline);
  return integer(1);
}

function ttl(store: Store, key: string, unit: number): Reply {
  const entry = store.get(key);
  if (entry === undefined) return integer(-2);
  if (entry.expiresAt === Number.POSITIVE_INFINITY) return integer(-1);
  return integer(Math.round((entry.expiresAt - store.now()) / unit));
}

function countKeys(args: string[], act: (key: string) => boolean): Reply {
  let count = 0;
  for (let i = 1; i < args.length; i++) if (act(args[i] as string)) count++;
  return integer(count);
}

/** What redis-benchmark asks at startup; every other parameter gets an empty answer. */
const CONFIG: Record<string, string> = { save: "", appendonly: "no", databases: "1" };

/** The commands, by lower-case name. */
const COMMAND_TABLE: Record<string, Command> = {
  ping: {
    arity: -1,
    run: (args) =>
      args.length === 1
        ? PONG
        : args.length === 2
          ? bulk(args[1] as string)
          : error("wrong number of arguments for 'ping' command"),
  },
  echo: { arity: 2, run: (args) => bulk(args[1] as string) },
  quit: { arity: -1, run: () => OK, closes: true },
  get: {
    arity: 2,
    run: (args, store) => {
      const entry = store.get(args[1] as string);
      return entry === undefined ? NIL : bulk(entry.value);
    },
  },
  set: { arity: -3, run: set },
  del: { arity: -2, run: (args, store) => countKeys(args, (key) => store.delete(key)) },
  exists: {
    arity: -2,
    run: (args, store) => countKeys(args, (key) => store.get(key) !== undefined),
  },
  incr: { arity: 2, run: (args, store) => incrementBy(store, args[1] as string, 1n) },
  decr: { arity: 2, run: (args, store) => incrementBy(store, args[1] as string, -1n) },
  incrby: {
    arity: 3,
    run: (args, store) => {
      const by = parseInteger(args[2] as string);
      return by === null ? NOT_AN_INTEGER : incrementBy(store, args[1] as string, by);
    },
  },
  decrby: {
    arity: 3,
    run: (args, store) => {
      const by = parseInteger(args[2] as string);
      if (by === null) return NOT_AN_INTEGER;
      if (by === INT64_MIN) return error("decrement would overflow");
      return incrementBy(store, args[1] as string, -by);
    },
  },
  mget: {
    arity: -2,
    run: (args, store) =>
      array(
        args.slice(1).map((key) => {
          const entry = store.get(key);
          return entry === undefined ? NIL : bulk(entry.value);
        }),
      ),
  },
  mset: {
    arity: -3,
    run: (args, store) => {
      if (args.length % 2 === 0) return error("wrong number of arguments for 'mset' command");
      for (let i = 1; i < args.length; i += 2) {
        // MSET keeps no TTL: a plain SET of each key.
        store.set(args[i] as string, args[i + 1] as string);
      }
      return OK;
    },
  },
  expire: { arity: -3, run: (args, store) => expire(args, store, 1000, "expire") },
  pexpire: { arity: -3, run: (args, store) => expire(args, store, 1, "pexpire") },
  persist: {
    arity: 2,
    run: (args, store) => {
      const key = args[1] as string;
      const entry = store.get(key);
      if (entry === undefined || entry.expiresAt === Number.POSITIVE_INFINITY) return integer(0);
      store.expire(key, Number.POSITIVE_INFINITY);
      return integer(1);
    },
  },
  ttl: { arity: 2, run: (args, store) => ttl(store, args[1] as string, 1000) },
  pttl: { arity: 2, run: (args, store) => ttl(store, args[1] as string, 1) },
  dbsize: {
    arity: 1,
    run: (_args, store) => {
      store.removeExpired();
      return integer(store.size);
    },
  },
  flushdb: {
    arity: -1,
    run: (args, store) => {
      const mode = args[1]?.toUpperCase();
      if (args.length > 2 || (mode !== undefined && mode !== "SYNC" && mode !== "ASYNC")) {
        return SYNTAX_ERROR;
      }
      store.clear();
      return OK;
    },
  },
  select: {
    arity: 2,
    run: (args) => {
      const index = parseInteger(args[1] as string);
      if (index === null) return NOT_AN_INTEGER;
      return index === 0n ? OK : error("DB index is out of range");
    },
  },
  // redis-cli asks for COMMAND DOCS at startup (for its hints); an empty answer is enough.
  command: { arity: -1, run: () => EMPTY_ARRAY },
  config: {
    arity: -2,
    run: (args) => {
      const subcommand = (args[1] as string).toUpperCase();
      if (subcommand !== "GET") {
        return error(`unknown subcommand '${args[1]}'. Try CONFIG HELP.`);
      }
      if (args.length < 3) return error("wrong number of arguments for 'config|get' command");
      const found = args.slice(2).flatMap((name) => {
        const value = CONFIG[name.toLowerCase()];
        return value === undefined ? [] : [bulk(name.toLowerCase()), bulk(value)];
      });
      return array(found);
    },
  },
};

/** The commands by name, lower and upper case (what clients send) for a lookup without copying. */
const COMMANDS = new Map<string, Command>(
  Object.entries(COMMAND_TABLE).flatMap(([name, command]) => [
    [name, command],
    [name.toUpperCase(), command],
  ]),
);

function lookUp(name: string): Command | undefined {
  return COMMANDS.get(name) ?? COMMANDS.get(name.toLowerCase());
}

/** Runs one command (its arguments, name first, as decoded) and returns the reply. */
export function execute(args: string[], store: Store): Reply {
  const name = args[0] as string;
  const command = lookUp(name);
  if (command === undefined) return unknownCommand(args);
  const { arity } = command;
  if (arity > 0 ? args.length !== arity : args.length < -arity) {
    return error(`wrong number of arguments for '${name.toLowerCase()}' command`);
  }
  return command.run(args, store);
}

/** Whether the connection closes after the reply to `args` (QUIT). */
export function closesConnection(args: string[]): boolean {
  return lookUp(args[0] as string)?.closes === true;
}

/** redis's answer, quoting up to 128 characters of the name and of the arguments. */
function unknownCommand(args: string[]): Reply {
  let quoted = "";
  for (const arg of args.slice(1)) {
    if (quoted.length >= 128) break;
    quoted += `'${arg.slice(0, 128 - quoted.length)}' `;
  }
  return error(
    `unknown command '${(args[0] as string).slice(0, 128)}', with args beginning with: ${quoted}`,
  );
}

// ---------------------------------------------------------------- the server

/** The most bytes a client may have sent that do not make a whole command yet (redis: client-query-buffer-limit). */
const MAX_QUERY_BUFFER = 1024 * 1024 * 1024;

/**
 * One connection: read commands, answer them, until EOF or QUIT. `frameBatches` gives every
 * command already received (a pipelined burst) at once, and their replies leave with one
 * `sendAll`; a protocol error comes after the commands before it were answered.
 */
export async function serveClient(stream: ByteStream, store: Store): Promise<void> {
  stream.maxFrameLength = MAX_QUERY_BUFFER;
  try {
    for await (const commands of stream.frameBatches(new RespDecoder())) {
      let replies = "";
      let quit = false;
      for (const args of commands) {
        if (args.length === 0) continue;
        replies += execute(args, store);
        quit = closesConnection(args);
        if (quit) break;
      }
      if (replies !== "") await stream.sendAll(replyBytes(replies));
      if (quit) return;
    }
  } catch (caught) {
    if (!(caught instanceof ProtocolError)) throw caught;
    await stream.sendAll(`-ERR Protocol error: ${caught.message}\r\n`);
  }
}

const OK_BYTES = Buffer.from(OK, "latin1");
const NIL_BYTES = Buffer.from(NIL, "latin1");

/**
 * A reply as the bytes to send, one byte per character. `+OK` and `$-1` are encoded once;
 * other short replies are copied a character at a time, which for a few bytes costs about
 * half a `Buffer.from` (most bursts are one short command: `redis-benchmark -P 1`).
 */
export function replyBytes(reply: Reply): Uint8Array {
  if (reply === OK) return OK_BYTES;
  if (reply === NIL) return NIL_BYTES;
  const length = reply.length;
  if (length > 64) return Buffer.from(reply, "latin1");
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = reply.charCodeAt(i);
  return bytes;
}

/** `onError` of the serve: a client leaving mid-command is normal; anything else is logged. */
function logClientError(caught: unknown, stream: SocketStream): void {
  if (caught instanceof BrokenResourceError || caught instanceof IncompleteReadError) return;
  console.error(`${stream.peer}: ${caught instanceof Error ? caught.message : caught}`);
}

async function main(host: string, port: number): Promise<void> {
  const store = new Store(clock);
  const listener = await listen({ hostname: host, port });
  console.log(`Ready to accept connections at ${host}:${listener.port}`);
  await withPool(async (pool) => {
    pool.spawn(expireKeys, store);
    await listener.serve((stream) => serveClient(stream, store), { onError: logClientError });
    // serve() resolves only after a graceful shutdown (SIGTERM) has drained every
    // connection; the sweeper has nothing left to serve.
    pool.cancel();
  });
  console.log("Drained after SIGTERM, exiting");
}

if (import.meta.main) {
  try {
    await run(main, process.env["HOST"] ?? "127.0.0.1", Number(process.env["PORT"] ?? 6379));
  } catch (caught) {
    if (caught instanceof KeyboardInterrupt) {
      console.log("Ctrl+C detected, exiting");
    } else if (caught instanceof Terminated) {
      console.log("SIGTERM again during the drain, exiting at once");
      process.exitCode = 143;
    } else {
      console.error(`Exiting due to ${caught instanceof Error ? caught.stack : caught}`);
      process.exitCode = 1;
    }
  }
}
