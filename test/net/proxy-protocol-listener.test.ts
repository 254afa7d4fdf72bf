/**
 * listen({ proxyProtocol }): the header is read before the connection reaches a handler,
 * which then sees the client the header names. Missing, malformed, slow and untrusted
 * headers close that connection only (counted in listener.proxyHeaderErrors) while the
 * server goes on; TLS after the header works, also when the header and the ClientHello
 * arrive in one read.
 */
import { beforeAll, expect, describe as group, test } from "bun:test";
import { type Socket as NetSocket, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import {
  type Listener,
  type ListenOptions,
  listen,
  run,
  type SocketStream,
  until,
  withPool,
} from "../../src/index.ts";
import { V2_SIGNATURE } from "../../src/net/proxy-protocol.ts";
import { pattern, selfSignedCert, tempDir } from "./helpers.ts";

let cert = "";
let key = "";

beforeAll(async () => {
  ({ cert, key } = await selfSignedCert());
});

const ascii = (text: string) => new TextEncoder().encode(text);

/** Replies with what the stream reports about its peer, then the first line it got. */
async function whoAmI(stream: SocketStream): Promise<void> {
  const line = await stream.receiveUntil("\n");
  await stream.sendAll(
    `${stream.remoteAddress} ${stream.remotePort} ${stream.peer} ${new TextDecoder().decode(line)}`,
  );
}

/** Serves `whoAmI` on a fresh listener while `body(listener)` runs, then stops. */
function withServer(
  options: Partial<ListenOptions>,
  body: (listener: Listener) => Promise<void>,
): Promise<void> {
  return run(() =>
    withPool(async (pool) => {
      const listener = await listen({ hostname: "127.0.0.1", port: 0, ...options });
      pool.spawn(() => listener.serve(whoAmI));
      await body(listener);
      pool.cancel();
    }),
  );
}

/**
 * A plain TCP client: writes each chunk (one write per chunk, a pause between), reads until
 * the server closes, and resolves with what came.
 */
function exchange(port: number, chunks: Uint8Array[], localAddress = "127.0.0.1"): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const socket: NetSocket = netConnect({ host: "127.0.0.1", port, localAddress }, async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        await Bun.sleep(chunks.length > 1 ? 2 : 0);
      }
    });
    socket.on("data", (data) => {
      got += data.toString();
    });
    socket.on("error", (error) => {
      if ((error as { code?: string }).code === "ECONNRESET") resolve(got);
      else reject(error);
    });
    socket.on("close", () => resolve(got));
    setTimeout(() => reject(new Error(`no close within 5 s; got ${JSON.stringify(got)}`)), 5000);
  });
}

function v2Tcp4(source: number[], sport: number, command = 1, tlvs: number[] = []): Uint8Array {
  const body = [...source, 127, 0, 0, 1, sport >> 8, sport & 0xff, 0x1f, 0x90, ...tlvs];
  return new Uint8Array([...V2_SIGNATURE, 0x20 | command, 0x11, 0, body.length, ...body]);
}

group("PROXY protocol on a listener", () => {
  test("v1: the handler sees the client the header names; bytes after it are kept", () =>
    withServer({ proxyProtocol: true }, async (listener) => {
      const reply = await until(
        exchange(listener.port, [ascii("PROXY TCP4 203.0.113.7 127.0.0.1 40001 80\r\nhello\n")]),
      );
      expect(reply).toBe("203.0.113.7 40001 203.0.113.7:40001 hello\n");
      expect(listener.proxyHeaderErrors).toBe(0);
    }));

  test("v1 TCP6 and v2 with TLVs, each sent one byte at a time", () =>
    withServer({ proxyProtocol: true }, async (listener) => {
      const v1 = ascii("PROXY TCP6 2001:db8::7 ::1 40002 80\r\nsix\n");
      const six = await until(
        exchange(
          listener.port,
          [...v1].map((b) => new Uint8Array([b])),
        ),
      );
      expect(six).toBe("2001:db8::7 40002 [2001:db8::7]:40002 six\n");
      const v2 = new Uint8Array([
        ...v2Tcp4([198, 51, 100, 9], 40003, 1, [0x04, 0, 1, 0]),
        ...ascii("two\n"),
      ]);
      const two = await until(
        exchange(
          listener.port,
          [...v2].map((b) => new Uint8Array([b])),
        ),
      );
      expect(two).toBe("198.51.100.9 40003 198.51.100.9:40003 two\n");
    }));

  test("v2 LOCAL (a health check) and v1 UNKNOWN keep the real peer", () =>
    withServer({ proxyProtocol: true }, async (listener) => {
      const local = await until(
        exchange(listener.port, [v2Tcp4([1, 2, 3, 4], 9, 0), ascii("local\n")], "127.0.0.5"),
      );
      expect(local).toMatch(/^127\.0\.0\.5 \d+ 127\.0\.0\.5:\d+ local\n$/);
      const unknown = await until(exchange(listener.port, [ascii("PROXY UNKNOWN\r\nu\n")]));
      expect(unknown).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1:\d+ u\n$/);
    }));

  test("missing and malformed headers close that connection only, counted", () =>
    withServer({ proxyProtocol: true }, async (listener) => {
      const bad = [
        "GET / HTTP/1.1\r\n\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\nx\n",
        "PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\nx\n",
        "PROXY TCP4 1.2.3.4\n",
      ];
      for (const text of bad) expect(await until(exchange(listener.port, [ascii(text)]))).toBe("");
      expect(listener.proxyHeaderErrors).toBe(bad.length);
      const good = await until(
        exchange(listener.port, [ascii("PROXY TCP4 9.9.9.9 1.1.1.1 9 9\r\nok\n")]),
      );
      expect(good).toBe("9.9.9.9 9 9.9.9.9:9 ok\n");
    }));

  test("a header that does not come within the timeout closes the connection", () =>
    withServer({ proxyProtocol: { timeout: 200 } }, async (listener) => {
      const start = performance.now();
      expect(await until(exchange(listener.port, [ascii("PROXY TCP4 1.2")]))).toBe("");
      expect(performance.now() - start).toBeGreaterThanOrEqual(190);
      expect(listener.proxyHeaderErrors).toBe(1);
    }));

  test("closing the listener (a drain does) closes the connections still sending their header", () =>
    withServer({ proxyProtocol: { timeout: 10_000 } }, async (listener) => {
      const start = performance.now();
      const closed = exchange(listener.port, [ascii("PROXY TCP4 1.2")]);
      await until(Bun.sleep(100)); // the partial header has arrived
      await listener.close();
      expect(await until(closed)).toBe("");
      expect(performance.now() - start).toBeLessThan(5000); // not the 10 s header timeout
      expect(listener.proxyHeaderErrors).toBe(0); // nobody sent a bad header
    }));

  test("closing the listener closes a connection between its header and its TLS handshake", () =>
    withServer({ tls: { cert, key }, proxyProtocol: true }, async (listener) => {
      const closed = exchange(listener.port, [ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")]);
      await until(Bun.sleep(100)); // the header is read; no ClientHello ever comes
      await listener.close();
      expect(await until(closed)).toBe("");
      expect(listener.proxyHeaderErrors).toBe(0);
    }));

  test("a peer outside trusted is refused, even with a well-formed (forged) header", async () => {
    await withServer(
      { proxyProtocol: { trusted: ["10.0.0.0/8", "fd00::/8"] } },
      async (listener) => {
        const forged = ascii("PROXY TCP4 10.1.1.1 127.0.0.1 1 80\r\nforged\n");
        expect(await until(exchange(listener.port, [forged]))).toBe("");
        expect(listener.proxyHeaderErrors).toBe(1);
      },
    );
    await withServer({ proxyProtocol: { trusted: ["127.0.0.5"] } }, async (listener) => {
      const header = ascii("PROXY TCP4 10.1.1.1 127.0.0.1 1 80\r\nok\n");
      expect(await until(exchange(listener.port, [header], "127.0.0.5"))).toBe(
        "10.1.1.1 1 10.1.1.1:1 ok\n",
      );
      expect(await until(exchange(listener.port, [header], "127.0.0.6"))).toBe("");
      expect(listener.proxyHeaderErrors).toBe(1);
    });
  });

  for (const coalesced of [false, true]) {
    test(`TLS after the header works (header and ClientHello ${coalesced ? "in one write" : "apart"})`, () =>
      withServer({ proxyProtocol: true, tls: { cert, key } }, async (listener) => {
        const reply = await until(
          new Promise<string>((resolve, reject) => {
            const raw = netConnect({ host: "127.0.0.1", port: listener.port }, () => {
              if (coalesced) raw.cork(); // the header and the ClientHello leave in one segment
              raw.write("PROXY TCP4 192.0.2.44 127.0.0.1 5555 443\r\n");
              const secure = tlsConnect({ socket: raw, ca: cert, servername: "localhost" }, () => {
                secure.write("secret\n");
              });
              if (coalesced) process.nextTick(() => raw.uncork());
              let got = "";
              secure.on("data", (data) => {
                got += data.toString();
              });
              secure.on("close", () => resolve(got));
              secure.on("error", reject);
            });
            setTimeout(() => reject(new Error("TLS exchange hung")), 5000);
          }),
        );
        expect(reply).toBe("192.0.2.44 5555 192.0.2.44:5555 secret\n");
        expect(listener.proxyHeaderErrors).toBe(0);
      }));
  }
});

group("PROXY protocol, more", () => {
  test("TLS after the header: 1 MiB each way, through backpressure, arrives intact", () =>
    run(() =>
      withPool(async (pool) => {
        const listener = await listen({
          hostname: "127.0.0.1",
          port: 0,
          proxyProtocol: true,
          tls: { cert, key },
        });
        const size = 1 << 20;
        pool.spawn(() =>
          listener.serve(async (stream) => {
            let got = 0;
            while (got < size) got += (await stream.receive()).length;
            await stream.sendAll(pattern(size, 7)); // more than any buffer on the way
          }),
        );
        const received = await until(
          new Promise<Uint8Array>((resolve, reject) => {
            const raw = netConnect({ host: "127.0.0.1", port: listener.port }, () => {
              raw.write("PROXY TCP4 192.0.2.1 127.0.0.1 1 443\r\n");
              const secure = tlsConnect({ socket: raw, ca: cert, servername: "localhost" }, () => {
                secure.write(new Uint8Array(size));
              });
              const chunks: Buffer[] = [];
              let length = 0;
              secure.on("data", (chunk: Buffer) => {
                chunks.push(chunk);
                length += chunk.length;
                if (length >= size) {
                  resolve(new Uint8Array(Buffer.concat(chunks)));
                  secure.end();
                }
              });
              secure.on("error", reject);
            });
            setTimeout(() => reject(new Error("TLS transfer hung")), 15_000);
          }),
        );
        expect(received.length).toBe(size);
        expect(Buffer.compare(Buffer.from(received), Buffer.from(pattern(size, 7)))).toBe(0);
        pool.cancel();
      }),
    ));

  test("a unix socket listener: every peer is trusted, a v2 UNIX header names the client path", () => {
    const dir = tempDir("giambio-proxy-unix-");
    const path = `${dir.path}/s.sock`;
    const unixPath = (p: string) => {
      const bytes = new Array<number>(108).fill(0);
      ascii(p).forEach((b, i) => {
        bytes[i] = b;
      });
      return bytes;
    };
    const body = [...unixPath("/run/client.sock"), ...unixPath(path)];
    const header = new Uint8Array([
      ...V2_SIGNATURE,
      0x21,
      0x31,
      body.length >> 8,
      body.length & 0xff,
      ...body,
    ]);
    return run(() =>
      withPool(async (pool) => {
        const listener = await listen({ unix: path, proxyProtocol: { trusted: ["10.0.0.0/8"] } });
        pool.spawn(() => listener.serve(whoAmI));
        const reply = await until(
          new Promise<string>((resolve, reject) => {
            let got = "";
            const socket = netConnect({ path }, () => {
              socket.write(new Uint8Array([...header, ...ascii("hi\n")]));
            });
            socket.on("data", (data) => {
              got += data.toString();
            });
            socket.on("close", () => resolve(got));
            socket.on("error", reject);
          }),
        );
        expect(reply).toBe("/run/client.sock 0 unix:/run/client.sock hi\n");
        pool.cancel();
      }),
    ).finally(() => dir.remove());
  });
});

group("bad proxyProtocol options", () => {
  const cases: [string, unknown, RegExp][] = [
    ["a string", "yes", /listen\(\{ proxyProtocol \}\) must be an object like/],
    ["null", null, /listen\(\{ proxyProtocol \}\) must be an object like/],
    ["trusted not an array", { trusted: "10.0.0.0/8" }, /trusted \} \}\) must be an array/],
    [
      "a bad range",
      { trusted: ["10.0.0.0/40"] },
      /must hold IP addresses or CIDR ranges.*"10.0.0.0\/40"/,
    ],
    ["a negative timeout", { timeout: -5 }, /timeout \} \}\) must be a non-negative/],
    ["an unknown key", { trust: [] }, /unknown option "trust".*trusted, timeout/],
  ];
  for (const [name, value, message] of cases) {
    test(name, async () => {
      const error = await listen({
        hostname: "127.0.0.1",
        port: 0,
        proxyProtocol: value as true,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(String(error)).toMatch(message);
    });
  }
});
