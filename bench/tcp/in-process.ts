/**
 * An in-process model of the 1-in-flight TCP echo (`tcp-echo.bench.ts`), for A/B comparisons
 * of the per-message path in one process. `CLIENTS` stand-in sockets (no I/O) each send a
 * fresh `bytes`-byte `Uint8Array` (64 unless given) through the `data` callback Bun calls,
 * and the next one from a `setImmediate` once the echo is written: one callback per
 * macrotask, so microtasks drain between messages, as they do between Bun's socket callbacks.
 *
 *   bun bench/tcp/in-process.ts [rounds=9] [server,server...] [bytes=64]
 *   bun bench/tcp/in-process.ts 9 raw,bare,serve 16384   # the 16 KiB row's messages
 *   MAIN_THREAD=1 bun bench/tcp/in-process.ts    # the JS thread only (no GC helper threads)
 *   BASE=/tmp/old bun bench/tcp/in-process.ts    # also serve@base: BASE holds another
 *                                                # version's src/ (an absolute path)
 *
 * Servers: `raw` (write what arrives, as the hand-written server), `bare` (the bench's floor:
 * an async `receive` → `send` loop per connection on plain promises, inside its own
 * `AsyncLocalStorage.run`), `in-task` (that same loop run as a giambio task in a pool: what
 * being a task costs when the loop's parking is not used), `serve` (a giambio stream per
 * socket and the bench's handler, `receive()` → `sendAll()`, as a task in a pool). Prints
 * CPU ns per message, per server and round, each server's lowest round, and its median's
 * ratio to `raw` (none when `raw` is not run).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import * as current from "../../src/index.ts";
import {
  countArgument,
  measureModels,
  type Sockets,
  StandInSocket,
  socketsOf,
} from "../in-process-model.ts";

const ROUNDS = countArgument("rounds", process.argv[2], 9);
const ONLY = process.argv[3];
const BYTES = countArgument("bytes", process.argv[4], 64);
const CLIENTS = 64;
/** Messages per measurement, over every client. */
const MESSAGES = 192_000;
const MESSAGE = new Uint8Array(BYTES).fill(0x61);

type Feed = (client: Client, chunk: Uint8Array<ArrayBuffer>) => void;

/** A stand-in socket and the load on it: one message in flight. */
class Client extends StandInSocket {
  /** Echo bytes still expected for the message in flight. */
  #expected = 0;
  #sent = 0;
  readonly #feed: Feed;
  readonly #done: () => void;
  readonly #next = () => this.next();

  constructor(port: number, feed: Feed, done: () => void) {
    super(port, 7);
    this.#feed = feed;
    this.#done = done;
  }

  /** Sends the next message, or reports that this client is done. */
  next(): void {
    if (this.#sent === MESSAGES / CLIENTS) {
      this.#done();
      return;
    }
    this.#sent++;
    this.#expected = MESSAGE.length;
    // A fresh Uint8Array per chunk, as Bun gives with binaryType "uint8array".
    this.#feed(this, new Uint8Array(MESSAGE));
  }

  override write(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
    this.#expected -= length;
    if (this.#expected === 0) setImmediate(this.#next);
    return length;
  }
}

/** Runs every client to its share of `MESSAGES`; resolves when all are done. */
function load(feed: Feed, open: (client: Client) => void): Promise<Client[]> {
  return new Promise((resolve) => {
    let left = CLIENTS;
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new Client(i + 1, feed, () => --left === 0 && resolve(clients)),
    );
    for (const client of clients) open(client);
    for (const client of clients) setImmediate(() => client.next());
  });
}

function raw(): Promise<unknown> {
  return load(
    (client, chunk) => client.write(chunk),
    () => {},
  );
}

/** The bare loop's connection: echo-server.ts's `BareConnection` without backpressure. */
class BareConnection {
  readonly #socket: Client;
  readonly #unread: Uint8Array[] = [];
  #reader: ((chunk: Uint8Array | null) => void) | null = null;

  constructor(socket: Client) {
    this.#socket = socket;
  }

  receive(): Promise<Uint8Array | null> | Uint8Array | null {
    const chunk = this.#unread.shift();
    if (chunk !== undefined) return chunk;
    return new Promise((resolve) => {
      this.#reader = resolve;
    });
  }

  send(bytes: Uint8Array): undefined {
    this.#socket.write(bytes);
  }

  onData(chunk: Uint8Array): void {
    const reader = this.#reader;
    if (reader === null) {
      this.#unread.push(chunk);
      return;
    }
    this.#reader = null;
    reader(chunk);
  }

  /** The load is over: the loop's next `receive` ends it. */
  end(): void {
    const reader = this.#reader;
    this.#reader = null;
    reader?.(null);
  }
}

async function bareLoop(connection: BareConnection): Promise<void> {
  for (;;) {
    const chunk = await connection.receive();
    if (chunk === null) return;
    await connection.send(chunk);
  }
}

const bareContext = new AsyncLocalStorage<BareConnection>();

function feedBare(client: Client, chunk: Uint8Array): void {
  (client.data as BareConnection).onData(chunk);
}

async function bare(): Promise<void> {
  const clients = await load(feedBare, (client) => {
    const connection = new BareConnection(client);
    client.data = connection;
    void bareContext.run(connection, bareLoop, connection);
  });
  for (const client of clients) (client.data as BareConnection).end();
}

function inTask(): Promise<void> {
  return current.run(() =>
    current.withPool(async (pool) => {
      const clients = await load(feedBare, (client) => {
        const connection = new BareConnection(client);
        client.data = connection;
        pool.spawn(bareLoop, connection);
      });
      for (const client of clients) (client.data as BareConnection).end();
    }),
  );
}

/** The bench's `serve` handler (echo-server.ts). */
async function echoHandler(stream: current.SocketStream): Promise<void> {
  for (;;) {
    const chunk = await stream.receive();
    if (chunk.length === 0) return;
    await stream.sendAll(chunk);
  }
}

function serve(giambio: typeof current, sockets: Sockets): () => Promise<void> {
  return () =>
    giambio.run(() =>
      giambio.withPool(async (pool) => {
        await load(
          (client, chunk) => sockets.callbacks.data(client as never, chunk),
          (client) => {
            const stream = sockets.open(client as never, null);
            client.data = stream;
            pool.spawn(echoHandler, stream);
          },
        );
        pool.cancel();
      }),
    );
}

const servers: Record<string, () => Promise<unknown>> = {
  raw,
  bare,
  "in-task": inTask,
  serve: serve(current, await socketsOf(`${import.meta.dir}/../..`)),
};
const base = process.env["BASE"];
if (base !== undefined) {
  // The same model on another version of giambio, in this process.
  const giambioBase = (await import(`${base}/src/index.ts`)) as typeof current;
  servers["serve@base"] = serve(giambioBase, await socketsOf(base));
}

await measureModels({
  servers,
  names: ONLY?.split(","),
  rounds: ROUNDS,
  units: MESSAGES,
  label: BYTES === 64 ? "echo" : `echo ${BYTES} B`,
  unit: "msg",
  baseline: "raw",
});
