/**
 * The RESP servers the redis benchmark compares with examples/redis-server.ts, one per
 * process. All of them run the example's own decoder (`RespDecoder`) and command engine
 * (`execute` over a `Store`), so what differs is only how bytes get from the socket to the
 * decoder and the replies back:
 *
 *   bun bench/redis/servers.ts hand    # (b) hand-written on Bun.listen: the fair fast baseline
 *   bun bench/redis/servers.ts naive   # (c) giambio the "README way": receiveUntil/receiveExactly
 *   bun bench/redis/servers.ts bare    # (e) (c)'s handler on plain promises, no giambio: its floor
 *
 * (a) is the example itself and (d) redis-server. Each prints
 * `Ready to accept connections at 127.0.0.1:<port>` once bound (a free port).
 */
import type { Socket } from "bun";
import {
  execute,
  MAX_BULK_LENGTH,
  ProtocolError,
  RespDecoder,
  replyBytes,
  Store,
  splitInlineArgs,
} from "../../examples/redis-server.ts";
import { clock, IncompleteReadError, listen, run, type SocketStream } from "../../src/index.ts";

const HOST = "127.0.0.1";

interface Connection {
  readonly decoder: RespDecoder;
  /** Bytes received that do not make a whole command yet. */
  pending: Uint8Array | null;
  /** Reply bytes `write` did not take; reading is paused until `drain` has written them. */
  unsent: Uint8Array | null;
}

/**
 * (b) By hand: an incremental parse of each `data` chunk (a partial command waits, joined
 * with the next chunk), every reply to that chunk gathered and written with one `write`;
 * what `write` does not take is kept, reading paused until `drain` has written it.
 */
function handWritten(): number {
  const store = new Store(() => performance.now());
  const server = Bun.listen<Connection>({
    hostname: HOST,
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        socket.data = { decoder: new RespDecoder(), pending: null, unsent: null };
        socket.setNoDelay(true);
      },
      data(socket, chunk) {
        const connection = socket.data;
        let bytes: Uint8Array = chunk;
        if (connection.pending !== null) {
          bytes = new Uint8Array(connection.pending.length + chunk.length);
          bytes.set(connection.pending);
          bytes.set(chunk, connection.pending.length);
        }
        let replies = "";
        let close = false;
        try {
          for (;;) {
            const decoded = connection.decoder.decode(bytes);
            if (decoded === null) break;
            bytes = bytes.subarray(decoded.length);
            if (decoded.frame.length > 0) replies += execute(decoded.frame, store);
          }
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          replies += `-ERR Protocol error: ${error.message}\r\n`;
          close = true;
        }
        // Bun hands each callback a fresh buffer, so keeping a view of it is safe.
        connection.pending = bytes.length > 0 ? bytes : null;
        if (replies !== "") write(socket, Buffer.from(replies, "latin1"));
        if (close) socket.end();
      },
      drain(socket) {
        const unsent = socket.data.unsent;
        if (unsent === null) return;
        socket.data.unsent = null;
        write(socket, unsent);
        if (socket.data.unsent === null) socket.resume();
      },
    },
  });
  return server.port;
}

function write(socket: Socket<Connection>, bytes: Uint8Array): void {
  const written = socket.write(bytes);
  if (written < bytes.length) {
    socket.data.unsent = bytes.subarray(Math.max(written, 0));
    socket.pause();
  }
}

/**
 * (c) giambio as a newcomer writes it from the README: `receiveUntil("\r\n")` for each
 * header line, `receiveExactly(length + 2)` for each bulk string, one `sendAll` per reply.
 * It parses what the hand-written server's decoder parses, the same way (lengths read from
 * the bytes, one latin1 string per argument), so that the row compares the framing paths,
 * not two parsers: with every header line made a string and given to `Number` first, this
 * handler cost about 2.2× the decoder's loop even over framing written by hand.
 */
export async function naiveHandler(stream: SocketStream, store: Store): Promise<void> {
  for (;;) {
    let line: Uint8Array;
    try {
      line = await stream.receiveUntil("\r\n");
    } catch (error) {
      if (error instanceof IncompleteReadError && error.partial.length === 0) return;
      throw error;
    }
    let args: string[];
    if (line[0] === STAR) {
      const count = decimal(line);
      args = [];
      for (let i = 0; i < count; i++) {
        const bulkHeader = await stream.receiveUntil("\r\n");
        const length = decimal(bulkHeader);
        if (bulkHeader[0] !== DOLLAR || !(length >= 0 && length <= MAX_BULK_LENGTH)) {
          await stream.sendAll("-ERR Protocol error: invalid bulk length\r\n");
          return;
        }
        const data = await stream.receiveExactly(length + 2);
        args.push(latin1(data, length));
      }
    } else {
      args = splitInlineArgs(latin1(line, line.length - 2));
    }
    if (args.length > 0) await stream.sendAll(replyBytes(execute(args, store)));
  }
}

const STAR = 0x2a;
const DOLLAR = 0x24;

/**
 * The decimal after a header line's type byte (`*3\r\n`, `$5\r\n`), read from the bytes;
 * NaN when anything but digits stands between the type byte and the `\r\n`.
 */
function decimal(line: Uint8Array): number {
  const end = line.length - 2;
  if (end < 2) return Number.NaN;
  let value = 0;
  for (let i = 1; i < end; i++) {
    const digit = (line[i] as number) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The first `end` bytes as a string, as the example's decoder does it: no `Buffer` view or
 * `subarray` to make first (each costs about as much as the conversion itself).
 */
function latin1(bytes: Uint8Array, end = bytes.length): string {
  return Buffer.prototype.toString.call(bytes, "latin1", 0, end);
}

/** What `BareStream` needs of a socket: Bun's, or the in-process model's stand-in. */
export interface BareSocket {
  write(bytes: Uint8Array, byteOffset: number, byteLength: number): number;
  pause(): void;
  resume(): void;
  end(): void;
}

const SENT = Promise.resolve();

/**
 * (e) The least a stream under `naiveHandler` can do, on plain promises: no tasks, no
 * cancellation checks, no argument checks, no backpressure on receiving. Reads are served
 * from the current chunk (a frame copied out, behind a resolved promise; a frame that
 * straddles chunks is joined); replies are gathered and written in one `write` when the
 * handler has to wait for bytes. It prices the handler's own awaits and allocations: the
 * floor for any library that offers these calls as promises.
 */
export class BareStream {
  readonly #socket: BareSocket;
  #bytes: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #waiting: (() => void) | null = null;
  #ended = false;
  #replies: Uint8Array[] = [];
  #repliesSize = 0;
  #unsent: Uint8Array | null = null;
  #endAfterDrain = false;

  constructor(socket: BareSocket) {
    this.#socket = socket;
  }

  /** A chunk from the socket. */
  push(chunk: Uint8Array): void {
    const rest = this.#bytes.length - this.#offset;
    if (rest === 0) this.#bytes = chunk;
    else {
      const joined = new Uint8Array(rest + chunk.length);
      joined.set(this.#bytes.subarray(this.#offset));
      joined.set(chunk, rest);
      this.#bytes = joined;
    }
    this.#offset = 0;
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  drain(): void {
    const unsent = this.#unsent;
    if (unsent === null) return;
    this.#unsent = null;
    this.#write(unsent);
    if (this.#unsent !== null) return;
    if (this.#endAfterDrain) this.#socket.end();
    else this.#socket.resume();
  }

  receiveUntil(_delimiter: "\r\n"): Promise<Uint8Array> {
    const end = this.#bytes.indexOf(0x0a, this.#offset);
    if (end === -1) return this.#more().then(() => this.receiveUntil(_delimiter));
    return this.receiveExactly(end + 1 - this.#offset);
  }

  receiveExactly(n: number): Promise<Uint8Array> {
    const start = this.#offset;
    if (this.#bytes.length - start < n) return this.#more().then(() => this.receiveExactly(n));
    this.#offset = start + n;
    const bytes = this.#bytes;
    const frame = new Uint8Array(n);
    for (let i = 0; i < n; i++) frame[i] = bytes[start + i] as number;
    return Promise.resolve(frame);
  }

  sendAll(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    this.#replies.push(bytes);
    this.#repliesSize += bytes.length;
    return SENT;
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.();
  }

  /** Writes the gathered replies, then waits for the next chunk (or EOF: IncompleteReadError). */
  #more(): Promise<void> {
    this.#flush();
    if (this.#ended) {
      return Promise.reject(new IncompleteReadError("EOF", this.#bytes.subarray(this.#offset)));
    }
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  /** The handler is done: the gathered replies go out, then the socket ends (after drain). */
  finish(): void {
    this.#flush();
    if (this.#unsent === null) this.#socket.end();
    else this.#endAfterDrain = true;
  }

  #flush(): void {
    if (this.#repliesSize === 0) return;
    const joined = new Uint8Array(this.#repliesSize);
    let at = 0;
    for (const reply of this.#replies) {
      joined.set(reply, at);
      at += reply.length;
    }
    this.#replies.length = 0;
    this.#repliesSize = 0;
    if (this.#unsent === null) this.#write(joined);
    else this.#unsent = Buffer.concat([this.#unsent, joined]);
  }

  #write(bytes: Uint8Array): void {
    const written = this.#socket.write(bytes, 0, bytes.length);
    if (written < bytes.length) {
      this.#unsent = bytes.subarray(Math.max(written, 0));
      this.#socket.pause();
    }
  }
}

/** (e): `naiveHandler` on a `BareStream` per connection, on `Bun.listen`. */
function bare(): number {
  const store = new Store(() => performance.now());
  const server = Bun.listen<BareStream>({
    hostname: HOST,
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        socket.data = new BareStream(socket);
        socket.setNoDelay(true);
        const stream = socket.data;
        naiveHandler(stream as never, store).then(
          () => stream.finish(),
          () => stream.finish(),
        );
      },
      data(socket, chunk) {
        socket.data.push(chunk);
      },
      drain(socket) {
        socket.data.drain();
      },
      end(socket) {
        socket.data.end();
      },
      close(socket) {
        socket.data.end(); // a handler still waiting for bytes gets EOF
      },
    },
  });
  return server.port;
}

const kind = process.argv[2];
if (!import.meta.main) {
  // Imported (by the in-process model, for naiveHandler): start nothing.
} else if (kind === "hand") {
  console.log(`Ready to accept connections at ${HOST}:${handWritten()}`);
} else if (kind === "bare") {
  console.log(`Ready to accept connections at ${HOST}:${bare()}`);
} else if (kind === "naive") {
  await run(async () => {
    const store = new Store(clock);
    const listener = await listen({ hostname: HOST, port: 0 });
    console.log(`Ready to accept connections at ${HOST}:${listener.port}`);
    // redis-benchmark's connections may end abruptly; that ends one handler only.
    await listener.serve((stream) => naiveHandler(stream, store), { onError: () => {} });
  });
} else {
  console.error(`usage: bun bench/redis/servers.ts hand|naive|bare (got ${kind})`);
  process.exit(2);
}
