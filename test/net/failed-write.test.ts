/**
 * A failed write is never reported as sent (issue 13.1): once `socket.write` refuses bytes
 * (the peer is gone), the stream is broken for good, every later `sendAll` rejects, and
 * bytes that a coalesced `sendAll` had queued are reported by the next `sendAll`/`sendEof`.
 * Checked over TCP (127.0.0.1 and ::1), unix sockets and TLS, and exactly on a fake socket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  BrokenResourceError,
  checkpoint,
  connect,
  listen,
  run,
  type SocketStream,
  sleep,
  withPool,
} from "../../src/index.ts";
import { fakeStream } from "./fake-socket.ts";
import { selfSignedCert, tempDir } from "./helpers.ts";

let dir = { path: "", remove: () => {} };
let cert = "";
let key = "";

beforeAll(async () => {
  dir = tempDir("giambio-failed-write-");
  ({ cert, key } = await selfSignedCert());
});
afterAll(() => dir.remove());

type Transport = "127.0.0.1" | "::1" | "unix" | "tls";

/** A connected pair `[a, b]` over `transport`, closed afterwards. */
async function withPair(
  transport: Transport,
  body: (a: SocketStream, b: SocketStream) => Promise<void>,
): Promise<void> {
  const path = `${dir.path}/${Math.random().toString(36).slice(2)}.sock`;
  const listenOptions =
    transport === "unix"
      ? { unix: path }
      : transport === "tls"
        ? { hostname: "127.0.0.1", port: 0, tls: { cert, key } }
        : { hostname: transport, port: 0 };
  await using listener = await listen(listenOptions);
  const connectOptions =
    transport === "unix"
      ? { unix: path }
      : transport === "tls"
        ? {
            hostname: "127.0.0.1",
            port: listener.port,
            tls: { ca: cert, serverName: "localhost" },
          }
        : { hostname: transport, port: listener.port };
  const [a, b] = await withPool(async (pool) => {
    const accepted = pool.spawn(() => listener.accept());
    return [await connect(connectOptions), await accepted.join()];
  });
  try {
    await body(a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

async function outcome(promise: Promise<unknown>): Promise<"sent" | Error> {
  try {
    await promise;
    return "sent";
  } catch (error) {
    return error as Error;
  }
}

const transports: Transport[] = ["127.0.0.1", "::1", "unix", "tls"];

describe.each(transports)("over %s", (transport) => {
  test("after the first failed write, every later sendAll rejects", () =>
    run(() =>
      withPair(transport, async (a, b) => {
        await b.close();
        expect((await a.receive()).length).toBe(0); // EOF
        // The kernel may take a few writes before it learns the peer is gone; from the first
        // failure on, nothing may resolve again.
        let failures = 0;
        for (let i = 0; i < 200 && failures < 5; i++) {
          const result = await outcome(a.sendAll("x"));
          if (result === "sent") {
            expect(failures).toBe(0);
          } else {
            expect(result).toBeInstanceOf(BrokenResourceError);
            failures++;
          }
          if (failures === 0) await sleep(5);
          else if (i % 2 === 0) await checkpoint();
        }
        expect(failures).toBe(5);
        await expect(a.sendAll("x")).rejects.toBeInstanceOf(BrokenResourceError);
      }),
    ));

  test("coalesced writes to a gone peer: the loss is reported, and every later sendAll rejects", () =>
    run(() =>
      withPair(transport, async (a, b) => {
        await b.close();
        expect((await a.receive()).length).toBe(0);
        // Two sendAll calls per iteration: the second is queued for the iteration's end, so
        // its promise resolves before the write is tried. A failure must still show.
        let failed: Error | null = null;
        for (let i = 0; i < 200 && failed === null; i++) {
          for (const data of ["a", "b"]) {
            const result = await outcome(a.sendAll(data));
            if (result !== "sent") failed = result;
            if (failed !== null) break;
          }
          await sleep(5);
        }
        expect(failed).toBeInstanceOf(BrokenResourceError);
        for (let i = 0; i < 3; i++) {
          await expect(a.sendAll("c")).rejects.toBeInstanceOf(BrokenResourceError);
          await checkpoint();
        }
      }),
    ));
});

describe("failed writes (fake socket)", () => {
  test("a direct write that fails marks the stream broken", () =>
    run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await checkpoint();
      socket.gone = true;
      await expect(stream.sendAll("b")).rejects.toThrow(/write failed/);
      await expect(stream.sendAll("c")).rejects.toBeInstanceOf(BrokenResourceError);
      await checkpoint();
      await expect(stream.sendAll("d")).rejects.toBeInstanceOf(BrokenResourceError);
      expect(socket.writes).toEqual(["a"]);
    }));

  test("coalesced bytes whose flush fails are reported by the next sendAll, with their count", () =>
    run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await stream.sendAll("bc"); // coalescing: queued for the iteration's end
      await stream.sendAll("def");
      socket.gone = true;
      await checkpoint(); // the flush fails
      const error = await outcome(stream.sendAll("g"));
      expect(error).toBeInstanceOf(BrokenResourceError);
      expect((error as Error).message).toContain("5 bytes that earlier sendAll() calls queued");
      // Reported once; the stream stays broken.
      const again = await outcome(stream.sendAll("h"));
      expect(again).toBeInstanceOf(BrokenResourceError);
      expect((again as Error).message).not.toContain("queued");
    }));

  test("coalesced bytes whose flush fails are reported by sendEof", () =>
    run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await stream.sendAll("b");
      socket.gone = true;
      await checkpoint();
      await expect(stream.sendEof()).rejects.toThrow(/1 bytes that earlier sendAll/);
    }));

  test("sendEof reports coalesced bytes that its own flush could not write", () =>
    run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await stream.sendAll("b"); // queued
      socket.gone = true;
      await expect(stream.sendEof()).rejects.toBeInstanceOf(BrokenResourceError);
      await stream.close(); // close never throws
    }));

  test("sendEof on a stream broken by a failed write rejects, every time; close() does not", () =>
    run(async () => {
      const { socket, stream } = fakeStream();
      socket.gone = true;
      await expect(stream.sendAll("x".repeat(100_000))).rejects.toBeInstanceOf(BrokenResourceError);
      for (let i = 0; i < 2; i++) {
        const error = await outcome(stream.sendEof());
        expect(error).toBeInstanceOf(BrokenResourceError);
        expect((error as Error).message).toMatch(/the connection to .* is broken/);
      }
      expect(socket.writes).not.toContain("<FIN>");
      await stream.close(); // close never throws
    }));
});
