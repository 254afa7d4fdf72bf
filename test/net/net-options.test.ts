/**
 * Net options are checked before anything is opened: an unknown key in listen, connect,
 * serve or tls options is a TypeError naming it and the accepted ones; a TLS listener needs
 * a certificate; a unix path over the system's limit says so, with its length; a Listener
 * comes only from listen().
 */
import { describe, expect, test } from "bun:test";
import {
  connect,
  Listener,
  listen,
  MemoryStream,
  memoryStreamPair,
  run,
  SocketStream,
  serve,
  skipAfter,
} from "../../src/index.ts";
import { connectedPair, LOCALHOST } from "./helpers.ts";

const LISTEN = "hostname, port, unix, tls, handshakeTimeout, reusePort, backlog, proxyProtocol";
const CONNECT = "hostname, port, unix, tls";
const SERVE = "maxConnections, onError, onPeerError, gracePeriod";
const TLS = "cert, key, ca, passphrase, certFile, keyFile, caFile, crl";

const rejects = async (promise: Promise<unknown>, error: new () => Error, message: string) => {
  const failure = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(error);
  expect((failure as Error).message).toBe(message);
};

describe("unknown option keys", () => {
  test("listen", () =>
    rejects(
      listen({ ...LOCALHOST, proxy: true } as never),
      TypeError,
      `listen(options) got an unknown option "proxy"; the accepted ones are ${LISTEN}`,
    ));

  test("connect", () =>
    run(() =>
      rejects(
        connect({ hostname: "127.0.0.1", port: 1, timeout: 5 } as never),
        TypeError,
        `connect(options) got an unknown option "timeout"; the accepted ones are ${CONNECT}`,
      ),
    ));

  test("serve and listener.serve", () =>
    run(async () => {
      // serve() takes the worker options too, so a misspelt `workers` is told the right name.
      await rejects(
        serve(LOCALHOST, () => {}, { worker: 2 } as never),
        TypeError,
        `serve(options, handler, serveOptions) got an unknown option "worker"; the accepted ones are ${SERVE}, workers, workerPolicy`,
      );
      await using listener = await listen(LOCALHOST);
      await rejects(
        listener.serve(() => {}, { worker: 2 } as never),
        TypeError,
        `serve(handler, options) got an unknown option "worker"; the accepted ones are ${SERVE}`,
      );
      expect(listener.closed).toBe(false); // nothing half-done: the listener is untouched
    }));

  test("listener.serve refuses the worker options, saying where they go", () =>
    run(async () => {
      await using listener = await listen(LOCALHOST);
      for (const options of [{ workers: 2 }, { workerPolicy: {} }]) {
        await rejects(
          listener.serve(() => {}, options as never),
          TypeError,
          "serve(handler, options) cannot take { workers } or { workerPolicy }: each worker process listens itself; call serve(listenOptions, handler, { workers }) instead",
        );
      }
      expect(listener.closed).toBe(false);
    }));

  test("tls of listen and connect", async () => {
    const listenError = await listen({
      ...LOCALHOST,
      tls: { cert: "x", key: "y", crt: "z" } as never,
    }).catch((e: Error) => e);
    expect(listenError).toBeInstanceOf(TypeError);
    expect((listenError as Error).message).toStartWith(
      `listen({ tls }) got an unknown option "crt"; the accepted ones are ${TLS}`,
    );
    await run(async () => {
      const connectError = await connect({
        hostname: "127.0.0.1",
        port: 1,
        tls: { servername: "x", verify: false } as never,
      }).catch((e: Error) => e);
      expect(connectError).toBeInstanceOf(TypeError);
      expect((connectError as Error).message).toStartWith(
        'connect({ tls }) got an unknown option "verify"; the accepted ones are cert, key',
      );
    });
  });

  test("arrays are not option bags", async () => {
    await rejects(
      listen([] as never),
      TypeError,
      "listen(options) must be an object like { hostname, port } or { unix }, got array(0)",
    );
    await run(() =>
      rejects(
        serve(LOCALHOST, () => {}, [] as never),
        TypeError,
        "serve(options, handler, serveOptions) must be an object like { maxConnections: 100 }, got array(0)",
      ),
    );
  });

  test("class instances and hostile Proxies are not option bags either, and say so", () =>
    run(async () => {
      await using listener = await listen(LOCALHOST);
      const proxy = new Proxy(
        {},
        {
          has: () => {
            throw new Error("trap");
          },
          ownKeys: () => {
            throw new Error("trap");
          },
        },
      );
      for (const bag of [new Map(), proxy]) {
        const shown = bag instanceof Map ? "a Map" : "an object";
        await rejects(
          skipAfter(2000, () => listener.serve(() => {}, bag as never)), // accepted: it serves on
          TypeError,
          `serve(handler, options) must be an object like { maxConnections: 100 }, got ${shown}`,
        );
        await rejects(
          skipAfter(2000, () => serve(LOCALHOST, () => {}, bag as never)),
          TypeError,
          `serve(options, handler, serveOptions) must be an object like { maxConnections: 100 }, got ${shown}`,
        );
      }
    }));
});

describe("null is never the default (README, Options)", () => {
  test("listen({ hostname: null }) and listen({ reusePort: null }) are TypeErrors", async () => {
    await rejects(
      listen({ hostname: null, port: 0 } as never),
      TypeError,
      "listen({ hostname }) must be a non-empty host name or IP address, got null",
    );
    await rejects(
      listen({ ...LOCALHOST, reusePort: null } as never),
      TypeError,
      "listen({ reusePort }) must be a boolean, got null",
    );
  });

  test("connect({ hostname: null }) names null; connect({ tls: null }) is no plain connection", () =>
    run(async () => {
      await rejects(
        connect({ hostname: null, port: 1 } as never),
        TypeError,
        "connect({ hostname }) must be a non-empty host name or IP address, got null",
      );
      await rejects(
        connect({ hostname: "127.0.0.1", port: 1, tls: null } as never),
        TypeError,
        "connect({ tls }) must be true or Bun's TLS options (ca, serverName, ...), got null",
      );
    }));

  test("serve({ onError: null }) is a TypeError, not the default policy", () =>
    run(async () => {
      await using listener = await listen(LOCALHOST);
      await rejects(
        skipAfter(2000, () => listener.serve(() => {}, { onError: null } as never)),
        TypeError,
        'serve({ onError }) must be "propagate" or a function (error, stream) => void, got null',
      );
      expect(listener.closed).toBe(false);
    }));
});

describe("listen({ tls }) without a certificate", () => {
  test("{} fails clearly, naming what is missing", () =>
    rejects(
      listen({ ...LOCALHOST, tls: {} }),
      TypeError,
      "listen({ tls }) needs a certificate and its private key: cert and key missing (give cert and key, PEM, or certFile and keyFile)",
    ));

  test("a key without a certificate", () =>
    rejects(
      listen({ ...LOCALHOST, tls: { key: "k" } }),
      TypeError,
      "listen({ tls }) needs a certificate and its private key: cert missing (give cert and key, PEM, or certFile and keyFile)",
    ));
});

describe("unix socket paths over the system's limit", () => {
  const limit = process.platform === "linux" ? 107 : 103;
  const path = (bytes: number) => `/tmp/${"a".repeat(bytes - 5)}`;

  test("listen and connect say the path is too long, and its length", async () => {
    const long = path(limit + 1);
    const message = `the path is too long, ${limit + 1} bytes; unix socket paths hold at most ${limit} bytes on this system: ${JSON.stringify(long)}`;
    await rejects(listen({ unix: long }), RangeError, `listen({ unix }): ${message}`);
    await run(() => rejects(connect({ unix: long }), RangeError, `connect({ unix }): ${message}`));
  });

  test("the length is counted in bytes (UTF-8), and a path at the limit binds", async () => {
    const multibyte = `/tmp/${"é".repeat(Math.ceil((limit - 4) / 2))}`; // 2 bytes a character
    expect(Buffer.byteLength(multibyte)).toBeGreaterThan(limit);
    await expect(listen({ unix: multibyte })).rejects.toThrow(/the path is too long/);
    const atLimit = path(limit);
    await run(async () => {
      await using listener = await listen({ unix: atLimit });
      expect(listener.unix).toBe(atLimit);
    });
  });
});

test("a Listener comes only from listen()", () => {
  const Constructor = Listener as unknown as new (...args: unknown[]) => Listener;
  expect(() => new Constructor({ endpoint: { kind: "tcp" } })).toThrow(
    new TypeError("new Listener() is not public: call listen(options) to get a Listener"),
  );
  expect(() => new Constructor()).toThrow(TypeError);
});

test("a SocketStream comes only from connect(), accept() or serve()", () => {
  const Constructor = SocketStream as unknown as new (...args: unknown[]) => SocketStream;
  const message =
    "new SocketStream() is not public: connect(), listener.accept() and serve() give streams";
  expect(() => new Constructor({})).toThrow(new TypeError(message));
  expect(() => new Constructor()).toThrow(new TypeError(message));
  expect(() => new Constructor({ remoteAddress: "x", setNoDelay() {} }, null)).toThrow(TypeError);
});

test("the library's hooks on streams are not public members: no callbacks, heldBytes, pauseReading...", async () => {
  const internal = [
    "callbacks",
    "heldBytes",
    "readerIdle",
    "onReaderIdle",
    "pauseReading",
    "resumeReading",
    "atIterationEnd",
  ];
  const named = (value: object) => {
    const names = new Set<string>();
    for (
      let o: object | null = value;
      o !== null && o !== Object.prototype;
      o = Object.getPrototypeOf(o)
    ) {
      for (const name of Object.getOwnPropertyNames(o)) names.add(name);
    }
    return internal.filter((name) => names.has(name));
  };
  expect(named(SocketStream)).toEqual([]);
  expect(named(SocketStream.prototype)).toEqual([]);
  expect(named(MemoryStream.prototype)).toEqual([]);
  await run(async () => {
    await using listener = await listen(LOCALHOST);
    const [client, server] = await connectedPair(listener);
    const [a, b] = memoryStreamPair();
    for (const stream of [client, server, a]) expect(named(stream)).toEqual([]);
    // Still a working stream: the hooks moved, they did not go.
    await client.sendAll("hi");
    expect(new TextDecoder().decode(await server.receiveExactly(2))).toBe("hi");
    await Promise.all([client.close(), server.close(), a.close(), b.close()]);
  });
});

test("a Listener's counts are serve's to change, not a user's: no refuse() or countBroken*()", async () => {
  await using listener = await listen(LOCALHOST);
  const names = Object.getOwnPropertyNames(Listener.prototype);
  expect(names.filter((name) => ["refuse", "countBrokenConnection"].includes(name))).toEqual([]);
  expect(listener.refusedConnections).toBe(0);
  expect(listener.brokenConnections).toBe(0);
});
