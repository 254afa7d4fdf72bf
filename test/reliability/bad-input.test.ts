/**
 * Bad input to the API, table-driven: every public function of the net layer (the core and
 * sync calls are in test/core/bad-input.test.ts and test/sync/bad-input.test.ts) given wrong types,
 * negative, NaN or infinite durations and sizes, closed or foreign objects. Each call must
 * fail at once with the error class and the message given here — which names the argument
 * and the value — and leave the loop usable: after each one, the same run still sleeps and
 * moves bytes over a connection. At the end, the hostile-value fuzz: every argument slot of
 * every net call against each value of `HOSTILE` (test/support/hostile-values.ts).
 */
import { describe, expect, test } from "bun:test";
import {
  connect,
  type Decoder,
  DelimiterDecoder,
  LengthPrefixedDecoder,
  LinesDecoder,
  type Listener,
  listen,
  type MemoryStream,
  memoryStreamPair,
  ResourceClosedError,
  run,
  runProcess,
  type SocketStream,
  serve,
  sleep,
  withPool,
} from "../../src/index.ts";
import { connectedPair, text } from "../net/helpers.ts";
import { bad, fuzzSlot, HOSTILE, type Slot } from "../support/hostile-values.ts";

/** What a case may use: a connected pair, an open listener, and closed objects. */
interface Context {
  client: SocketStream;
  server: SocketStream;
  listener: Listener;
  closedStream: SocketStream;
  closedListener: Listener;
  /** A stream whose sending side was shut with `sendEof()`. */
  halfClosed: SocketStream;
}

interface Case {
  /** The call, as it reads. */
  call: string;
  attempt: (context: Context) => unknown;
  error: new (...args: never[]) => Error;
  message: string | RegExp;
}

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const handler = async () => {};
const STREAM = String.raw`SocketStream\(127\.0\.0\.1:\d+\)`;
const LISTENER = String.raw`Listener\(127\.0\.0\.1:\d+\)`;

const netCases: Case[] = [
  // listen
  {
    call: "listen(null)",
    attempt: () => listen(bad(null)),
    error: TypeError,
    message: "listen(options) must be an object like { hostname, port } or { unix }, got null",
  },
  {
    call: "listen({ hostname }) without a port",
    attempt: () => listen({ hostname: "127.0.0.1" }),
    error: TypeError,
    message: "listen({ port }) must be an integer >= 0, got undefined",
  },
  {
    call: "listen({ port: NaN })",
    attempt: () => listen({ hostname: "127.0.0.1", port: Number.NaN }),
    error: RangeError,
    message: "listen({ port }) must be an integer >= 0, got NaN",
  },
  {
    call: "listen({ port: -1 })",
    attempt: () => listen({ hostname: "127.0.0.1", port: -1 }),
    error: RangeError,
    message: "listen({ port }) must be an integer >= 0, got -1",
  },
  {
    call: "listen({ port: 1.5 })",
    attempt: () => listen({ hostname: "127.0.0.1", port: 1.5 }),
    error: RangeError,
    message: "listen({ port }) must be an integer >= 0, got 1.5",
  },
  {
    call: "listen({ port: 65536 })",
    attempt: () => listen({ hostname: "127.0.0.1", port: 65536 }),
    error: RangeError,
    message: "listen({ port }) must be at most 65535, got 65536",
  },
  {
    call: "listen({ hostname: 5 })",
    attempt: () => listen({ hostname: bad(5), port: 0 }),
    error: TypeError,
    message: "listen({ hostname }) must be a non-empty host name or IP address, got 5",
  },
  {
    call: 'listen({ unix: "" })',
    attempt: () => listen({ unix: "" }),
    error: TypeError,
    message: 'listen({ unix }) must be a non-empty path, got ""',
  },
  {
    call: "listen({ unix, port })",
    attempt: () => listen({ unix: "/tmp/x.sock", port: 80 }),
    error: TypeError,
    message: /^listen\(\) takes either \{ unix \} or \{ hostname, port \}, got both/,
  },
  {
    call: 'listen({ reusePort: "yes" })',
    attempt: () => listen({ ...LOCALHOST, reusePort: bad("yes") }),
    error: TypeError,
    message: 'listen({ reusePort }) must be a boolean, got "yes"',
  },
  {
    call: "listen({ backlog: 0 })",
    attempt: () => listen({ ...LOCALHOST, backlog: 0 }),
    error: RangeError,
    message: "listen({ backlog }) must be an integer >= 1, got 0",
  },
  {
    call: "listen({ backlog: -1 })",
    attempt: () => listen({ ...LOCALHOST, backlog: -1 }),
    error: RangeError,
    message: "listen({ backlog }) must be an integer >= 1, got -1",
  },
  {
    call: "listen({ backlog: Infinity })",
    attempt: () => listen({ ...LOCALHOST, backlog: Number.POSITIVE_INFINITY }),
    error: RangeError,
    message: "listen({ backlog }) must be an integer >= 1, got Infinity",
  },
  {
    call: "listen({ tls: null })",
    attempt: () => listen({ ...LOCALHOST, tls: bad(null) }),
    error: TypeError,
    message: "listen({ tls }) must be Bun's TLS options (an object with cert and key), got null",
  },
  // connect
  {
    call: "connect(undefined)",
    attempt: () => connect(bad(undefined)),
    error: TypeError,
    message:
      "connect(options) must be an object like { hostname, port } or { unix }, got undefined",
  },
  {
    call: "connect({ port }) without a hostname",
    attempt: () => connect({ port: 80 }),
    error: TypeError,
    message: "connect({ hostname }) must be a non-empty host name or IP address, got undefined",
  },
  {
    call: "connect({ port: 0 })",
    attempt: () => connect({ hostname: "127.0.0.1", port: 0 }),
    error: RangeError,
    message: "connect({ port }) must be an integer >= 1, got 0",
  },
  {
    call: "connect({ port: NaN })",
    attempt: () => connect({ hostname: "127.0.0.1", port: Number.NaN }),
    error: RangeError,
    message: "connect({ port }) must be an integer >= 1, got NaN",
  },
  {
    call: 'connect({ port: "80" })',
    attempt: () => connect({ hostname: "127.0.0.1", port: bad("80") }),
    error: TypeError,
    message: 'connect({ port }) must be an integer >= 1, got "80"',
  },
  {
    call: "connect({ port: 70000 })",
    attempt: () => connect({ hostname: "127.0.0.1", port: 70000 }),
    error: RangeError,
    message: "connect({ port }) must be at most 65535, got 70000",
  },
  {
    call: "connect({ unix: 5 })",
    attempt: () => connect({ unix: bad(5) }),
    error: TypeError,
    message: "connect({ unix }) must be a non-empty path, got 5",
  },
  {
    call: 'connect({ tls: "yes" })',
    attempt: () => connect({ hostname: "127.0.0.1", port: 80, tls: bad("yes") }),
    error: TypeError,
    message: 'connect({ tls }) must be true or Bun\'s TLS options (ca, serverName, ...), got "yes"',
  },
  // serve and listener.serve
  {
    call: 'serve(options, "nope")',
    attempt: () => serve(LOCALHOST, bad("nope")),
    error: TypeError,
    message: 'serve(handler) must be a function, got "nope"',
  },
  {
    call: "serve(null, handler)",
    attempt: () => serve(bad(null), handler),
    error: TypeError,
    message: "listen(options) must be an object like { hostname, port } or { unix }, got null",
  },
  {
    call: 'serve(options, handler, "fast")',
    attempt: () => serve(LOCALHOST, handler, bad("fast")),
    error: TypeError,
    message:
      'serve(options, handler, serveOptions) must be an object like { maxConnections: 100 }, got "fast"',
  },
  {
    call: "listener.serve(undefined)",
    attempt: ({ listener }) => listener.serve(bad(undefined)),
    error: TypeError,
    message: "serve(handler) must be a function, got undefined",
  },
  {
    call: "listener.serve(handler, { maxConnections: 0 })",
    attempt: ({ listener }) => listener.serve(handler, { maxConnections: 0 }),
    error: RangeError,
    message: "serve({ maxConnections }) must be an integer >= 1 or Infinity, got 0",
  },
  {
    call: "listener.serve(handler, { maxConnections: -1 })",
    attempt: ({ listener }) => listener.serve(handler, { maxConnections: -1 }),
    error: RangeError,
    message: "serve({ maxConnections }) must be an integer >= 1 or Infinity, got -1",
  },
  {
    call: "listener.serve(handler, { maxConnections: NaN })",
    attempt: ({ listener }) => listener.serve(handler, { maxConnections: Number.NaN }),
    error: RangeError,
    message: "serve({ maxConnections }) must be an integer >= 1 or Infinity, got NaN",
  },
  {
    call: 'listener.serve(handler, { maxConnections: "3" })',
    attempt: ({ listener }) => listener.serve(handler, { maxConnections: bad("3") }),
    error: TypeError,
    message: 'serve({ maxConnections }) must be an integer >= 1 or Infinity, got "3"',
  },
  {
    call: "listener.serve(handler, { onError: 5 })",
    attempt: ({ listener }) => listener.serve(handler, { onError: bad(5) }),
    error: TypeError,
    message: 'serve({ onError }) must be "propagate" or a function (error, stream) => void, got 5',
  },
  // receive
  ...[
    [-5, RangeError, "-5"],
    [Number.NaN, RangeError, "NaN"],
    [Number.POSITIVE_INFINITY, RangeError, "Infinity"],
    [2.5, RangeError, "2.5"],
    ["10", TypeError, '"10"'],
    [null, TypeError, "null"],
  ].map(
    ([value, error, shown]): Case => ({
      call: `stream.receive(${shown})`,
      attempt: ({ server }) => server.receive(bad(value)),
      error: error as Case["error"],
      message: `receive(maxBytes) must be an integer >= 1, got ${shown}`,
    }),
  ),
  // receiveExactly
  ...[
    [-1, RangeError, "-1"],
    [Number.NaN, RangeError, "NaN"],
    [Number.POSITIVE_INFINITY, RangeError, "Infinity"],
    [1.5, RangeError, "1.5"],
    ["3", TypeError, '"3"'],
    [undefined, TypeError, "undefined"],
  ].map(
    ([value, error, shown]): Case => ({
      call: `stream.receiveExactly(${shown})`,
      attempt: ({ server }) => server.receiveExactly(bad(value)),
      error: error as Case["error"],
      message: `receiveExactly(n) must be an integer >= 0, got ${shown}`,
    }),
  ),
  // receiveUntil
  ...[
    [42, "42"],
    [null, "null"],
    [new Uint16Array(2), "a Uint16Array"],
  ].map(
    ([value, shown]): Case => ({
      call: `stream.receiveUntil(${shown})`,
      attempt: ({ server }) => server.receiveUntil(bad(value)),
      error: TypeError,
      message: `receiveUntil(delimiter) must be a non-empty string or Uint8Array, got ${shown}`,
    }),
  ),
  ...[
    ["", 'an empty string ("")'],
    [new Uint8Array(0), "an empty Uint8Array"],
  ].map(
    ([value, shown]): Case => ({
      call: `stream.receiveUntil(${shown})`,
      attempt: ({ server }) => server.receiveUntil(bad(value)),
      error: TypeError,
      message: `receiveUntil(delimiter) must not be empty, got ${shown}`,
    }),
  ),
  ...[
    [0, RangeError, "0"],
    [2, RangeError, "2"],
    [Number.NaN, RangeError, "NaN"],
    ["9", TypeError, '"9"'],
  ].map(
    ([value, error, shown]): Case => ({
      call: `stream.receiveUntil("abc", ${shown})`,
      attempt: ({ server }) => server.receiveUntil("abc", bad(value)),
      error: error as Case["error"],
      message: `receiveUntil(delimiter, maxBytes) must be an integer >= 3, got ${shown}`,
    }),
  ),
  // sendAll
  ...[
    [undefined, "undefined"],
    [null, "null"],
    [123, "123"],
    [[1, 2], "array(2)"],
    [new ArrayBuffer(3), "an ArrayBuffer"],
    [new DataView(new ArrayBuffer(3)), "a DataView"],
    [new Uint16Array(3), "a Uint16Array"],
    [
      HOSTILE.find(([label]) => label === "a throwing Proxy")?.[1],
      "an object that cannot be described",
    ],
  ].map(
    ([value, shown]): Case => ({
      call: `stream.sendAll(${shown})`,
      attempt: ({ client }) => client.sendAll(bad(value)),
      error: TypeError,
      message: `sendAll(data) must be a Uint8Array or a string, got ${shown}`,
    }),
  ),
];

const closedCases: Case[] = [
  ...(["receive", "sendAll", "sendEof"] as const).map(
    (op): Case => ({
      call: `closed stream.${op}()`,
      attempt: ({ closedStream }) =>
        op === "sendAll" ? closedStream.sendAll("x") : closedStream[op](),
      error: ResourceClosedError,
      message: new RegExp(`^${op}\\(\\) on ${STREAM} after close\\(\\)$`),
    }),
  ),
  {
    call: "closed stream.receiveExactly(1)",
    attempt: ({ closedStream }) => closedStream.receiveExactly(1),
    error: ResourceClosedError,
    message: new RegExp(`^receiveExactly\\(\\) on ${STREAM} after close\\(\\)$`),
  },
  {
    call: 'closed stream.receiveUntil("\\n")',
    attempt: ({ closedStream }) => closedStream.receiveUntil("\n"),
    error: ResourceClosedError,
    message: new RegExp(`^receiveUntil\\(\\) on ${STREAM} after close\\(\\)$`),
  },
  {
    call: "for await over a closed stream",
    attempt: async ({ closedStream }) => {
      for await (const _ of closedStream) return;
    },
    error: ResourceClosedError,
    message: new RegExp(`^receive\\(\\) on ${STREAM} after close\\(\\)$`),
  },
  {
    call: "stream.sendAll() after sendEof()",
    attempt: ({ halfClosed }) => halfClosed.sendAll("x"),
    error: ResourceClosedError,
    message: new RegExp(
      `^sendAll\\(\\) on ${STREAM} after sendEof\\(\\): the sending side is shut$`,
    ),
  },
  {
    call: "closed listener.accept()",
    attempt: ({ closedListener }) => closedListener.accept(),
    error: ResourceClosedError,
    message: new RegExp(`^accept\\(\\) on ${LISTENER} after close\\(\\)$`),
  },
  {
    call: "closed listener.serve(handler)",
    attempt: ({ closedListener }) => closedListener.serve(handler),
    error: ResourceClosedError,
    message: new RegExp(`^serve\\(\\) on ${LISTENER} after close\\(\\)$`),
  },
];

/** Core and sync calls that test/core and test/sync do not already try. */
/** A connected pair, a listener, and closed objects; all closed by `closeContext`. */
async function openContext(): Promise<Context> {
  const listener = await listen(LOCALHOST);
  const pair = () => connectedPair(listener);
  const [client, server] = await pair();
  const [closedStream, halfClosed] = await pair();
  await closedStream.close();
  await halfClosed.sendEof();
  const closedListener = await listen(LOCALHOST);
  await closedListener.close();
  return { client, server, listener, closedStream, closedListener, halfClosed };
}

async function closeContext(context: Context): Promise<void> {
  for (const stream of [context.client, context.server, context.halfClosed]) await stream.close();
  await context.listener.close();
}

/** The loop still works: it sleeps, runs a pool and moves bytes between tasks. */
async function expectUsable({ client, server }: Context): Promise<void> {
  await sleep(1);
  await withPool(async (pool) => {
    pool.spawn(() => client.sendAll("still alive"));
    expect(text(await server.receiveExactly(11))).toBe("still alive");
  });
}

async function attempt(context: Context, call: Case["attempt"]): Promise<unknown> {
  try {
    await call(context);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe.each([
  ["net", netCases],
  ["closed objects", closedCases],
])("bad input: %s", (_, cases) => {
  test.each(cases.map((c) => [c.call, c] as const))("%s", (_call, c) =>
    run(async () => {
      const context = await openContext();
      try {
        const error = await attempt(context, c.attempt);
        expect(error).toBeInstanceOf(c.error);
        if (typeof c.message === "string") expect((error as Error).message).toBe(c.message);
        else expect((error as Error).message).toMatch(c.message);
        await expectUsable(context);
      } finally {
        await closeContext(context);
      }
    }),
  );
});

describe("use outside a running loop", () => {
  test("every blocking net call is a GiambioError; the objects work again inside run", async () => {
    let kept: Context | undefined;
    await run(async () => {
      kept = await openContext();
    });
    const context = kept as Context;
    const notRunning = "giambio is not running";
    await expect(connect({ hostname: "127.0.0.1", port: context.listener.port })).rejects.toThrow(
      notRunning,
    );
    await expect(context.listener.accept()).rejects.toThrow(notRunning);
    await expect(context.server.receive()).rejects.toThrow(notRunning);
    await expect(context.server.receiveExactly(1)).rejects.toThrow(notRunning);
    await expect(context.client.sendAll("x")).rejects.toThrow(notRunning);
    await expect(context.client.sendEof()).rejects.toThrow(notRunning);
    await expect(serve(LOCALHOST, handler)).rejects.toThrow(notRunning);
    await expect(context.listener.serve(handler)).rejects.toThrow(notRunning);
    // A new run picks the same objects up where they were.
    await run(async () => {
      await expectUsable(context);
      await closeContext(context);
    });
  });
});

// ---------------------------------------------------------------- the hostile-value fuzz
// As test/core/bad-input.test.ts has it for the core: every argument slot of every public
// net call gets each value of `HOSTILE` it does not accept; each must be a TypeError or
// RangeError naming the call and the argument (never a foreign error, such as a throwing
// Proxy's own) and leave the loop usable.

/** The objects the slots call; opened around each test. */
let fuzzListener: Listener | undefined;
let socket: SocketStream;
let memory: MemoryStream;

const never = () => false;
const isUndefined = (value: unknown) => value === undefined;
/** `{}` (the HOSTILE table's only plain object); never touches a Proxy's traps. */
const isEmptyBag = (value: unknown) => HOSTILE.some(([label, v]) => label === "{}" && v === value);
/** Values that are a valid (empty or absent) options bag. */
const isNoOptions = (value: unknown) => isUndefined(value) || isEmptyBag(value);
const isCount = (value: unknown) =>
  typeof value === "number" && Number.isInteger(value) && value >= 1;
const isFrameLength = (value: unknown) =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 1 << 20;
const isDelimiter = (value: unknown) => typeof value === "string" && value.length > 0;

const slots: Slot[] = [
  {
    call: "listen(v)",
    names: "listen(",
    attempt: (v) => listen(bad(v)),
    accepts: never,
    async: true,
  },
  {
    call: "connect(v)",
    names: "connect(",
    attempt: (v) => connect(bad(v)),
    accepts: never,
    async: true,
  },
  {
    call: "serve(v, handler)",
    names: "listen(",
    attempt: (v) => serve(bad(v), handler),
    // A function first is pool.start's form, serve(started, options, handler).
    accepts: (v) => typeof v === "function",
    async: true,
  },
  {
    call: "serve(options, v)",
    names: "serve(handler)",
    attempt: (v) => serve(LOCALHOST, bad(v)),
    accepts: (v) => typeof v === "function",
    async: true,
  },
  {
    call: "serve(options, handler, v)",
    names: "serve(options, handler, serveOptions)",
    attempt: (v) => serve(LOCALHOST, handler, bad(v)),
    accepts: isNoOptions,
    async: true,
  },
  {
    call: "fuzzListener.serve(v)",
    names: "serve(handler)",
    attempt: (v) => (fuzzListener as Listener).serve(bad(v)),
    accepts: (v) => typeof v === "function",
    async: true,
  },
  {
    call: "fuzzListener.serve(handler, v)",
    names: "serve(handler, options)",
    attempt: (v) => (fuzzListener as Listener).serve(handler, bad(v)),
    accepts: isNoOptions,
    async: true,
  },
  ...(["socket", "memory"] as const).flatMap((kind): Slot[] => {
    const stream = () => (kind === "socket" ? socket : memory);
    return [
      {
        call: `${kind} stream.receive(v)`,
        names: "receive(maxBytes)",
        attempt: (v) => stream().receive(bad(v)),
        accepts: (v) => isUndefined(v) || isCount(v),
        async: true,
      },
      {
        call: `${kind} stream.receiveExactly(v)`,
        names: "receiveExactly(n)",
        attempt: (v) => stream().receiveExactly(bad(v)),
        accepts: isFrameLength,
        async: true,
      },
      {
        call: `${kind} stream.receiveUntil(v)`,
        names: "receiveUntil(delimiter)",
        attempt: (v) => stream().receiveUntil(bad(v)),
        accepts: isDelimiter,
        async: true,
      },
      {
        call: `${kind} stream.receiveUntil("\\n", v)`,
        names: "receiveUntil(delimiter, maxBytes)",
        attempt: (v) => stream().receiveUntil("\n", bad(v)),
        accepts: (v) => isUndefined(v) || (isFrameLength(v) && (v as number) >= 1),
        async: true,
      },
      {
        call: `${kind} stream.receiveLine(v)`,
        names: "receiveLine(options)",
        attempt: (v) => stream().receiveLine(bad(v)),
        accepts: isNoOptions,
        async: true,
      },
      {
        call: `${kind} stream.receiveFrame(v)`,
        names: "receiveFrame(decoder)",
        attempt: (v) => stream().receiveFrame(bad<Decoder<unknown>>(v)),
        accepts: never,
        async: true,
      },
      {
        // frames() returns an iterator, not a promise: a bad decoder throws at the call.
        call: `${kind} stream.frames(v)`,
        names: "frames(decoder)",
        attempt: (v) => stream().frames(bad<Decoder<unknown>>(v)),
        accepts: never,
      },
      {
        call: `${kind} stream.sendAll(v)`,
        names: "sendAll(data)",
        attempt: (v) => stream().sendAll(bad(v)),
        accepts: (v) => typeof v === "string",
        async: true,
      },
      {
        call: `${kind} stream.maxFrameLength = v`,
        names: "maxFrameLength",
        attempt: (v) => {
          stream().maxFrameLength = bad(v);
        },
        accepts: isCount,
      },
    ];
  }),
  {
    call: "memoryStreamPair(v)",
    names: "memoryStreamPair(options)",
    attempt: (v) => memoryStreamPair(bad(v)),
    accepts: isNoOptions,
  },
  {
    call: "new LinesDecoder(v)",
    names: "new LinesDecoder(options)",
    attempt: (v) => new LinesDecoder(bad(v)),
    accepts: isNoOptions,
  },
  {
    call: "new DelimiterDecoder(v)",
    names: "new DelimiterDecoder(delimiter)",
    attempt: (v) => new DelimiterDecoder(bad(v)),
    accepts: isDelimiter,
  },
  {
    call: "new LengthPrefixedDecoder(v)",
    names: "new LengthPrefixedDecoder(options)",
    attempt: (v) => new LengthPrefixedDecoder(bad(v)),
    accepts: isNoOptions,
  },
  {
    call: "runProcess(v)",
    names: "runProcess(cmd)",
    attempt: (v) => runProcess(bad(v)),
    accepts: never,
    async: true,
  },
  {
    call: 'runProcess(["true"], v)',
    names: "runProcess(cmd, options)",
    attempt: (v) => runProcess(["true"], bad(v)),
    accepts: isNoOptions,
    async: true,
  },
];

async function fuzzNet(slot: Slot): Promise<void> {
  await run(async () => {
    fuzzListener = await listen(LOCALHOST);
    const [client, server] = await connectedPair(fuzzListener);
    socket = server;
    const [a, b] = memoryStreamPair();
    memory = a;
    try {
      await fuzzSlot(slot);
    } finally {
      await Promise.all([client.close(), server.close(), a.close(), b.close()]);
      await fuzzListener.close();
    }
  });
}

describe("hostile values against every net call", () => {
  test.each(slots.map((slot) => [slot.call, slot] as const))("%s", (_call, slot) => fuzzNet(slot));
});
