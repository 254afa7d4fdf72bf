/**
 * listen({ tls, handshakeTimeout }): a client that never finishes its TLS handshake (sends
 * nothing, stalls in the ClientHello, or after its PROXY header) is closed when the limit
 * passes, counted in listener.handshakeErrors, and never reaches a handler; its socket is
 * released. A slow handshake within the limit works, and the limit ends with the handshake.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { type Socket as NetSocket, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import {
  type Listener,
  type ListenOptions,
  listen,
  run,
  until,
  withPool,
} from "../../src/index.ts";
import { parseListenOptions } from "../../src/net/endpoint.ts";
import { selfSignedCert } from "./helpers.ts";

let cert = "";
let key = "";

beforeAll(async () => {
  ({ cert, key } = await selfSignedCert());
});

const openFds = () => (process.platform === "linux" ? readdirSync("/proc/self/fd").length : 0);

/** Waits (up to 3 s) for this process's open descriptors to come back to `baseline`. */
async function fdsBackTo(baseline: number): Promise<number> {
  const end = Date.now() + 3000;
  while (openFds() > baseline && Date.now() < end) await Bun.sleep(20);
  return openFds();
}

/** A TLS record header announcing a 512-byte ClientHello, and the first bytes of it. */
const HALF_CLIENT_HELLO = new Uint8Array([
  0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 3, 3,
]);

/**
 * A plain TCP client that writes `chunks` and nothing more; resolves with the ms until the
 * server closed the connection.
 */
function stallingClient(port: number, chunks: (string | Uint8Array)[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const socket: NetSocket = netConnect({ host: "127.0.0.1", port }, () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    socket.on("error", () => {}); // a reset is a close too
    socket.on("close", () => {
      clearTimeout(hung);
      resolve(performance.now() - start);
    });
    const hung = setTimeout(() => {
      socket.destroy();
      reject(new Error("the server did not close the connection within 5 s"));
    }, 5000);
  });
}

/** Serves an echo of the first line on a fresh TLS listener while `body` runs. */
function withTlsServer(
  options: Partial<ListenOptions>,
  body: (listener: Listener, handled: () => number) => Promise<void>,
): Promise<void> {
  return run(() =>
    withPool(async (pool) => {
      let handled = 0;
      const listener = await listen({
        hostname: "127.0.0.1",
        port: 0,
        tls: { cert, key },
        ...options,
      });
      pool.spawn(() =>
        listener.serve(async (stream) => {
          handled++;
          await stream.sendAll(await stream.receiveUntil("\n"));
        }),
      );
      await body(listener, () => handled);
      pool.cancel();
    }),
  );
}

/**
 * A TLS client that connects, waits `delay` ms (before its ClientHello, or with `proxy`,
 * before its PROXY header), then handshakes, waits `after` ms and sends a line; resolves with
 * the reply.
 */
function slowTlsClient(port: number, delay: number, after = 0, proxy = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const raw = netConnect({ host: "127.0.0.1", port }, async () => {
      await Bun.sleep(delay);
      if (proxy) raw.write("PROXY TCP4 192.0.2.1 127.0.0.1 1 443\r\n");
      const secure = tlsConnect({ socket: raw, ca: cert, servername: "localhost" }, async () => {
        await Bun.sleep(after);
        secure.write("hello\n");
      });
      let got = "";
      secure.on("data", (data) => {
        got += data.toString();
      });
      secure.on("close", () => {
        clearTimeout(hung);
        resolve(got);
      });
      secure.on("error", reject);
    });
    const hung = setTimeout(() => reject(new Error("TLS exchange hung")), 8000);
  });
}

describe("listen({ tls, handshakeTimeout })", () => {
  for (const [what, chunks] of [
    ["sends nothing", []],
    ["sends half a ClientHello", [HALF_CLIENT_HELLO]],
  ] as const) {
    test(`a client that ${what} is closed after the limit, counted, and its socket released`, () =>
      withTlsServer({ handshakeTimeout: 300 }, async (listener, handled) => {
        const baseline = openFds();
        const closedAfter = await until(stallingClient(listener.port, [...chunks]));
        expect(closedAfter).toBeGreaterThanOrEqual(280);
        expect(listener.handshakeErrors).toBe(1);
        expect(handled()).toBe(0);
        expect(await fdsBackTo(baseline)).toBe(baseline);
      }));
  }

  test("several stalled clients, connected at different times, are each closed after the limit", () =>
    withTlsServer({ handshakeTimeout: 300 }, async (listener) => {
      const first = stallingClient(listener.port, []);
      await Bun.sleep(150);
      const second = stallingClient(listener.port, [HALF_CLIENT_HELLO]);
      const [a, b] = await until(Promise.all([first, second]));
      expect(a).toBeGreaterThanOrEqual(280);
      expect(b).toBeGreaterThanOrEqual(280);
      expect(listener.handshakeErrors).toBe(2);
    }));

  test("a client that sends garbage instead of a ClientHello is closed at once and counted", () =>
    withTlsServer({ handshakeTimeout: 10_000 }, async (listener) => {
      const closedAfter = await until(stallingClient(listener.port, ["GET / HTTP/1.1\r\n\r\n"]));
      expect(closedAfter).toBeLessThan(5000);
      expect(listener.handshakeErrors).toBe(1);
    }));

  test("a slow handshake within the limit works, and the limit ends with the handshake", () =>
    withTlsServer({ handshakeTimeout: 2000 }, async (listener, handled) => {
      // 300 ms before the ClientHello, then 2200 ms idle after the handshake: past the limit.
      expect(await until(slowTlsClient(listener.port, 300, 2200))).toBe("hello\n");
      expect(listener.handshakeErrors).toBe(0);
      expect(handled()).toBe(1);
    }));

  test("handshakeTimeout: Infinity never closes a silent client; close() does", () =>
    withTlsServer({ handshakeTimeout: Infinity }, async (listener) => {
      const closed = stallingClient(listener.port, []);
      await Bun.sleep(300);
      let done = false;
      void closed.then(() => {
        done = true;
      });
      await Bun.sleep(0);
      expect(done).toBe(false);
      await listener.close();
      await until(closed);
      expect(listener.handshakeErrors).toBe(0);
    }));

  test("the default limit is 10 s", () => {
    expect(parseListenOptions({ port: 0, tls: { cert, key } }).handshakeTimeout).toBe(10_000);
  });
});

describe("listen({ tls, proxyProtocol, handshakeTimeout })", () => {
  test("a client that sends its header and no ClientHello is closed after the limit, counted", () =>
    withTlsServer({ proxyProtocol: true, handshakeTimeout: 300 }, async (listener, handled) => {
      const baseline = openFds();
      const closedAfter = await until(
        stallingClient(listener.port, ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", HALF_CLIENT_HELLO]),
      );
      expect(closedAfter).toBeGreaterThanOrEqual(280);
      expect(listener.handshakeErrors).toBe(1);
      expect(listener.proxyHeaderErrors).toBe(0);
      expect(handled()).toBe(0);
      expect(await fdsBackTo(baseline)).toBe(baseline);
    }));

  test("the limit starts after the header: a slow header then a quick handshake works", () =>
    withTlsServer(
      { proxyProtocol: { timeout: 4000 }, handshakeTimeout: 1500 },
      async (listener) => {
        expect(await until(slowTlsClient(listener.port, 1800, 0, true))).toBe("hello\n");
        expect(listener.handshakeErrors).toBe(0);
        expect(listener.proxyHeaderErrors).toBe(0);
      },
    ));

  test("proxyProtocol: { timeout: Infinity } never closes a silent client (no instant timer)", () =>
    withTlsServer({ proxyProtocol: { timeout: Infinity } }, async (listener) => {
      const closed = stallingClient(listener.port, []);
      let done = false;
      void closed.then(() => {
        done = true;
      });
      await Bun.sleep(300);
      expect(done).toBe(false);
      await listener.close();
      await until(closed);
      expect(listener.proxyHeaderErrors).toBe(0);
    }));

  test("garbage after the header is a failed handshake, counted", () =>
    withTlsServer({ proxyProtocol: true }, async (listener) => {
      await until(
        stallingClient(listener.port, ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\n\r\n"]),
      );
      expect(listener.handshakeErrors).toBe(1);
      expect(listener.proxyHeaderErrors).toBe(0);
    }));
});

describe("handshakeTimeout: bad values", () => {
  const tls = () => ({ cert, key });
  test.each([
    [
      -1,
      RangeError,
      "listen({ handshakeTimeout }) must be a non-negative number of milliseconds, got -1",
    ],
    [
      Number.NaN,
      RangeError,
      "listen({ handshakeTimeout }) must be a non-negative number of milliseconds, got NaN",
    ],
    ["10", TypeError, 'listen({ handshakeTimeout }) must be a number of milliseconds, got "10"'],
    [null, TypeError, "listen({ handshakeTimeout }) must be a number of milliseconds, got null"],
  ])("%p is refused", async (value, kind, message) => {
    const error = await listen({
      hostname: "127.0.0.1",
      port: 0,
      tls: tls(),
      handshakeTimeout: value as number,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(kind);
    expect(error.message).toBe(message);
  });

  test("without tls it is a TypeError, and nothing is bound", async () => {
    const error = await listen({ hostname: "127.0.0.1", port: 0, handshakeTimeout: 100 }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain(
      "listen({ handshakeTimeout }) limits the TLS handshake: it needs tls",
    );
  });

  test("a misspelt key names the accepted ones, handshakeTimeout among them", async () => {
    const error = await listen({ port: 0, handshakeTimeOut: 1 } as never).catch((e) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain("handshakeTimeout");
  });
});
