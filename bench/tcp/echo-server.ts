/**
 * The echo servers the TCP benchmark compares, one per process:
 *
 *   bun bench/tcp/echo-server.ts raw [writes]    # (a) hand-written Bun.listen echo
 *   bun bench/tcp/echo-server.ts serve [writes]  # (b) giambio: serve + receive/sendAll loop
 *   bun bench/tcp/echo-server.ts bare [writes]   # (c) the floor: an async loop per connection
 *                                                #     on plain promises, no giambio
 *
 * `writes` is 1 (default: echo each chunk) or 2 (echo each chunk, then send the prompt
 * "-> ", as the seed's echo server does: two `write` calls by hand, two `sendAll`s in ours).
 *
 * Prints `listening <port>` once bound (127.0.0.1, a free port). Each line read on stdin is
 * answered with `cpu <µs>`: the process's CPU time so far (user + system, every thread, so
 * the garbage collector counts), which the suite reads before and after a load run. The
 * line `idle` is answered with `idle <bytes>`: the resident set size after a full
 * collection, after which the kernel's peak-RSS mark is reset; `peak` is answered with
 * `peak <bytes>`, the peak resident set size since then (both from /proc/self, so Linux
 * only; the memory rows use them).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync } from "node:fs";
import type { Socket } from "bun";
import { listen, run, type SocketStream } from "../../src/index.ts";

const kind = process.argv[2];
const writes = Number(process.argv[3] ?? 1);
/** What the two-write shape sends after each echoed chunk (never the load's byte, 0x61). */
const PROMPT = new TextEncoder().encode("-> ");

/** Answers each request line on stdin (see above); returns when stdin closes. */
async function answerRequests(): Promise<void> {
  for await (const line of console) {
    if (line === "idle") {
      Bun.gc(true);
      const rss = residentBytes("VmRSS");
      // Writing 5 to clear_refs resets VmHWM (the peak) to the current RSS.
      await Bun.write("/proc/self/clear_refs", "5");
      console.log(`idle ${rss}`);
    } else if (line === "peak") {
      console.log(`peak ${residentBytes("VmHWM")}`);
    } else {
      const usage = process.cpuUsage();
      console.log(`cpu ${usage.user + usage.system}`);
    }
  }
}

/** A field of /proc/self/status given in kB (VmRSS, VmHWM), in bytes. */
function residentBytes(field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync("/proc/self/status", "utf8");
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1]);
  if (!(kb > 0)) throw new Error(`no ${field} in /proc/self/status`);
  return kb * 1024;
}

interface Pending {
  /** Bytes `write` did not take; reading is paused until they are written. */
  unsent: Uint8Array | null;
}

/**
 * (a) The cheapest correct echo by hand: write what arrives; if the socket takes only part,
 * keep the rest, pause reading (no unbounded buffering), and finish it on `drain`.
 */
function rawEcho(): number {
  const server = Bun.listen<Pending>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        socket.data = { unsent: null };
        socket.setNoDelay(true);
      },
      data(socket, chunk) {
        const written = socket.write(chunk);
        if (written < chunk.length) {
          const rest = chunk.subarray(Math.max(written, 0));
          socket.data.unsent = writes === 2 ? concat(rest, PROMPT) : rest;
          socket.pause();
          return;
        }
        if (writes === 2) {
          const prompted = socket.write(PROMPT);
          if (prompted < PROMPT.length) {
            socket.data.unsent = PROMPT.subarray(Math.max(prompted, 0));
            socket.pause();
          }
        }
      },
      drain(socket) {
        const unsent = socket.data.unsent;
        if (unsent === null) return;
        const written = socket.write(unsent);
        if (written < unsent.length) {
          socket.data.unsent = unsent.subarray(Math.max(written, 0));
          return;
        }
        socket.data.unsent = null;
        socket.resume();
      },
    },
  });
  return server.port;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** (b) giambio: `serve` runs this per connection. */
async function echoHandler(stream: SocketStream): Promise<void> {
  for (;;) {
    const chunk = await stream.receive();
    if (chunk.length === 0) return;
    await stream.sendAll(chunk);
    if (writes === 2) await stream.sendAll(PROMPT);
  }
}

/**
 * (c) The floor for a loop per connection: what `for (;;) { await receive(); await send() }`
 * costs on plain promises, with each connection's loop inside its own
 * `AsyncLocalStorage.run` (as giambio runs each task), but no scheduler, no cancellation,
 * no structure. Same backpressure as (a): reading pauses above 64 KiB unread and while a
 * write waits for `drain`.
 */
class BareConnection {
  readonly #socket: Socket<BareConnection>;
  readonly #unread: Uint8Array[] = [];
  #unreadBytes = 0;
  #eof = false;
  #reader: ((chunk: Uint8Array | null) => void) | null = null;
  #unsent: Uint8Array | null = null;
  #writer: (() => void) | null = null;

  constructor(socket: Socket<BareConnection>) {
    this.#socket = socket;
  }

  receive(): Promise<Uint8Array | null> | Uint8Array | null {
    const chunk = this.#unread.shift();
    if (chunk !== undefined) {
      this.#unreadBytes -= chunk.length;
      if (this.#unreadBytes <= BARE_HIGH_WATER_MARK / 2) this.#socket.resume();
      return chunk;
    }
    if (this.#eof) return null;
    return new Promise((resolve) => {
      this.#reader = resolve;
    });
  }

  send(bytes: Uint8Array): Promise<void> | undefined {
    const written = this.#socket.write(bytes);
    if (written === bytes.length) return undefined;
    if (written < 0) return Promise.reject(new Error("the connection is gone"));
    this.#unsent = bytes.subarray(written);
    this.#socket.pause();
    return new Promise((resolve) => {
      this.#writer = resolve;
    });
  }

  onData(chunk: Uint8Array): void {
    const reader = this.#reader;
    if (reader !== null) {
      this.#reader = null;
      reader(chunk);
      return;
    }
    this.#unread.push(chunk);
    this.#unreadBytes += chunk.length;
    if (this.#unreadBytes > BARE_HIGH_WATER_MARK) this.#socket.pause();
  }

  onDrain(): void {
    const unsent = this.#unsent;
    if (unsent === null) return;
    const written = this.#socket.write(unsent);
    if (written >= 0 && written < unsent.length) {
      this.#unsent = unsent.subarray(written);
      return;
    }
    this.#unsent = null;
    this.#socket.resume();
    const writer = this.#writer;
    this.#writer = null;
    writer?.();
  }

  onEnd(): void {
    this.#eof = true;
    const reader = this.#reader;
    this.#reader = null;
    reader?.(null);
    // A writer waiting for drain on a closed socket would wait forever.
    const writer = this.#writer;
    this.#writer = null;
    writer?.();
  }
}

const BARE_HIGH_WATER_MARK = 64 * 1024;
const bareContext = new AsyncLocalStorage<BareConnection>();

async function bareLoop(connection: BareConnection): Promise<void> {
  for (;;) {
    const chunk = await connection.receive();
    if (chunk === null) return;
    await connection.send(chunk);
    if (writes === 2) await connection.send(PROMPT);
  }
}

function bareEcho(): number {
  const server = Bun.listen<BareConnection>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        const connection = new BareConnection(socket);
        socket.data = connection;
        socket.setNoDelay(true);
        bareContext.run(connection, bareLoop, connection).then(
          () => socket.end(),
          () => socket.terminate(),
        );
      },
      data: (socket, chunk) => socket.data.onData(chunk),
      drain: (socket) => socket.data.onDrain(),
      end: (socket) => socket.data.onEnd(),
      close: (socket) => socket.data.onEnd(),
    },
  });
  return server.port;
}

if (writes !== 1 && writes !== 2) {
  console.error(`writes must be 1 or 2, got ${process.argv[3]}`);
  process.exit(2);
}
if (kind === "raw") {
  console.log(`listening ${rawEcho()}`);
} else if (kind === "bare") {
  console.log(`listening ${bareEcho()}`);
} else if (kind === "serve") {
  // The loop serves until the process exits; stdin is handled outside it, in plain JS.
  const serving = run(async () => {
    // The memory suite opens hundreds of connections within one tick: more than the default
    // backlog would refuse, and the hand-written servers have no such queue to overflow.
    const listener = await listen({ hostname: "127.0.0.1", port: 0, backlog: 16_384 });
    console.log(`listening ${listener.port}`);
    // The load generator's connections end abruptly (reset); that ends one handler only.
    await listener.serve(echoHandler, { onError: () => {} });
  });
  serving.catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  console.error(`usage: bun bench/tcp/echo-server.ts raw|serve|bare [1|2] (got ${kind})`);
  process.exit(2);
}
await answerRequests();
process.exit(0);
