/**
 * An in-process model of the redis bench, for profiling and for A/B comparisons in one
 * process (the machine is shared: ratios from one run are what can be trusted). `CLIENTS`
 * stand-in sockets (no I/O) each send `DEPTH` pipelined SET or GET commands as one chunk,
 * through the same `data` callback Bun calls; a client sends its next chunk (from outside
 * the loop, as Bun would) once the server has written every reply to the last one.
 *
 *   bun bench/redis/in-process.ts [depth=16] [rounds=5] [server,server...]
 *   bun --cpu-prof bench/redis/in-process.ts 16 1 example
 *   MAIN_THREAD=1 bun bench/redis/in-process.ts    # the JS thread only (no GC helper threads)
 *   BASE=/tmp/old bun bench/redis/in-process.ts    # also example@base, naive@base: BASE holds
 *                                                  # another version's src/ and examples/
 *
 * Servers: `hand` (the bench's hand-written one: parse the chunk, one `write` of the joined
 * replies), `example` (examples/redis-server.ts's `serveClient`: `frameBatches`, one
 * `sendAll` per burst), `naive` (receiveUntil / receiveExactly, one `sendAll` per reply, as
 * bench/redis/servers.ts), `frames` (the example before `frameBatches`: `frames()`, one
 * `sendAll` per reply), `naive-floor` (the naive handler over framing written by hand on
 * `receive()` chunks: what the handler itself costs, with framing calls as cheap as they
 * get), `bare` (the naive handler on `BareStream`, plain promises and no giambio at all: the
 * bench's floor row). Prints CPU ns per request, per server and round, each server's lowest
 * round, and its median's ratio to `hand` (none when `hand` is not run).
 */

import * as example from "../../examples/redis-server.ts";
import * as current from "../../src/index.ts";
import {
  countArgument,
  measureModels,
  type Sockets,
  StandInSocket,
  socketsOf,
} from "../in-process-model.ts";
import { BareStream, naiveHandler } from "./servers.ts";

type Giambio = typeof current;
type Example = typeof example;
const { execute, RespDecoder, Store } = example;
type Store = InstanceType<typeof Store>;
type RespDecoder = InstanceType<typeof RespDecoder>;

const DEPTH = countArgument("depth", process.argv[2], 16);
const ROUNDS = countArgument("rounds", process.argv[3], 5);
const ONLY = process.argv[4];
const CLIENTS = 50;
/** Requests per measurement, over every client. */
const REQUESTS = DEPTH === 1 ? 100_000 : 600_000;

const setChunk = Buffer.from(
  "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$3\r\nxxx\r\n".repeat(DEPTH),
  "latin1",
);
const getChunk = Buffer.from(
  "*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000042\r\n".repeat(DEPTH),
  "latin1",
);

/** The load: a client's chunks, alternating SET and GET bursts, and how much reply each brings. */
class Client extends StandInSocket {
  /** Reply bytes still expected for the chunk in flight. */
  #expected = 0;
  #sent = 0;
  readonly #limit: number;
  readonly #feed: (client: Client, chunk: Uint8Array<ArrayBuffer>) => void;
  readonly #done: () => void;

  constructor(
    port: number,
    limit: number,
    feed: (client: Client, chunk: Uint8Array<ArrayBuffer>) => void,
    done: () => void,
  ) {
    super(port, 6379);
    this.#limit = limit;
    this.#feed = feed;
    this.#done = done;
  }

  /** Sends the next burst, or reports that this client is done. */
  next(): void {
    if (this.#sent >= this.#limit) {
      this.#done();
      return;
    }
    const set = (this.#sent / DEPTH) % 2 === 0;
    this.#sent += DEPTH;
    this.#expected = set ? 5 * DEPTH : 9 * DEPTH; // "+OK\r\n" / "$3\r\nxxx\r\n"
    // A fresh Uint8Array per chunk, as Bun gives with binaryType "uint8array".
    this.#feed(this, new Uint8Array(set ? setChunk : getChunk));
  }

  override write(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
    this.#expected -= length;
    if (this.#expected === 0) setImmediate(() => this.next());
    return length;
  }
}

/** Runs `CLIENTS` clients to `REQUESTS` requests in all; resolves when every one is done. */
function load(
  feed: (client: Client, chunk: Uint8Array<ArrayBuffer>) => void,
  open: (client: Client) => void,
) {
  return new Promise<void>((resolve) => {
    let left = CLIENTS;
    const done = () => {
      if (--left === 0) resolve();
    };
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new Client(i + 1, REQUESTS / CLIENTS, feed, done),
    );
    for (const client of clients) open(client);
    for (const client of clients) setImmediate(() => client.next());
  });
}

function hand(): Promise<void> {
  const store = new Store(() => performance.now());
  return load(
    (client, chunk) => {
      const decoder = client.data as RespDecoder;
      let bytes: Uint8Array = chunk;
      let replies = "";
      for (;;) {
        const decoded = decoder.decode(bytes);
        if (decoded === null) break;
        bytes = bytes.subarray(decoded.length);
        if (decoded.frame.length > 0) replies += execute(decoded.frame, store);
      }
      const out = Buffer.from(replies, "latin1");
      client.write(out, 0, out.length);
    },
    (client) => {
      client.data = new RespDecoder();
    },
  );
}

const currentSockets = await socketsOf(`${import.meta.dir}/../..`);

function giambio(
  { run, withPool, clock }: Giambio,
  sockets: Sockets,
  engine: Example,
  handler: (stream: current.SocketStream, store: Store) => Promise<void>,
): Promise<void> {
  return run(async () => {
    const store = new engine.Store(clock);
    await withPool(async (pool) => {
      await load(
        (client, chunk) => sockets.callbacks.data(client as never, chunk),
        (client) => {
          const stream = sockets.open(client as never, null);
          client.data = stream;
          pool.spawn(handler, stream, store);
        },
      );
      pool.cancel();
    });
  });
}

/** The example as it was before `frameBatches`: `frames()`, one `sendAll` per reply. */
async function framesHandler(stream: current.SocketStream, store: Store): Promise<void> {
  stream.maxFrameLength = 1 << 30;
  for await (const args of stream.frames(new RespDecoder())) {
    if (args.length === 0) continue;
    await stream.sendAll(example.replyBytes(execute(args, store)));
    if (example.closesConnection(args)) return;
  }
}

/**
 * `naiveHandler`'s reads written by hand over `receive()`: a search or an offset into the
 * chunk, the frame copied out (as the stream does for small frames) behind a resolved
 * promise. Commands never straddle chunks in this model, so no joining is needed.
 */
class HandFraming {
  readonly #stream: current.SocketStream;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;

  constructor(stream: current.SocketStream) {
    this.#stream = stream;
  }

  async #refill(): Promise<void> {
    this.#chunk = await this.#stream.receive();
    this.#offset = 0;
    if (this.#chunk.length === 0) throw new current.IncompleteReadError("EOF", this.#chunk);
  }

  receiveUntil(delimiter: "\r\n"): Promise<Uint8Array> {
    if (this.#offset === this.#chunk.length) {
      return this.#refill().then(() => this.receiveUntil(delimiter));
    }
    const end = this.#chunk.indexOf(10, this.#offset) + 1;
    return this.receiveExactly(end - this.#offset);
  }

  receiveExactly(n: number): Promise<Uint8Array> {
    const start = this.#offset;
    this.#offset = start + n;
    return Promise.resolve(this.#chunk.slice(start, start + n));
  }

  sendAll(data: Uint8Array | string): Promise<void> {
    return this.#stream.sendAll(data);
  }
}

/** The naive handler on plain promises, no giambio (servers.ts's floor server). */
function bare(): Promise<void> {
  const store = new Store(() => performance.now());
  return load(
    (client, chunk) => (client.data as BareStream).push(chunk),
    (client) => {
      const stream = new BareStream(client);
      client.data = stream;
      void naiveHandler(stream as never, store);
    },
  );
}

const servers: Record<string, () => Promise<void>> = {
  hand,
  example: () => giambio(current, currentSockets, example, example.serveClient),
  naive: () => giambio(current, currentSockets, example, naiveHandler),
  frames: () => giambio(current, currentSockets, example, framesHandler),
  "naive-floor": () =>
    giambio(current, currentSockets, example, (stream, store) =>
      naiveHandler(new HandFraming(stream) as never, store),
    ),
  bare,
};
const base = process.env["BASE"];
if (base !== undefined) {
  // The same model on another version of giambio and of the example, in this process.
  const giambioBase = (await import(`${base}/src/index.ts`)) as Giambio;
  const exampleBase = (await import(`${base}/examples/redis-server.ts`)) as Example;
  const socketsBase = await socketsOf(base);
  servers["example@base"] = () =>
    giambio(giambioBase, socketsBase, exampleBase, exampleBase.serveClient as never);
  servers["naive@base"] = () =>
    giambio(giambioBase, socketsBase, exampleBase, naiveHandler as never);
}

await measureModels({
  servers,
  names: ONLY?.split(","),
  rounds: ROUNDS,
  units: REQUESTS,
  label: `depth ${DEPTH}`,
  unit: "req",
  baseline: "hand",
});
