/**
 * `serve`'s default error policy and peers that reset or leave: a `BrokenResourceError` or
 * `IncompleteReadError` raised by the handler's own stream ends that connection alone
 * (counted in `listener.brokenConnections`, reported to `onPeerError`), over TCP, unix
 * sockets and TLS, with real resets (`terminate()`: SO_LINGER 0); every other error still
 * propagates, and a function `onError` still sees everything.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TLSOptions } from "bun";
import {
  BrokenResourceError,
  connect,
  Event,
  IncompleteReadError,
  type Listener,
  type ListenOptions,
  listen,
  run,
  type SocketStream,
  sleep,
  until,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { withoutStack } from "../../src/net/peer-errors.ts";
import { echo, LOCALHOST, readAll, selfSignedCert, tempDir, text } from "./helpers.ts";

const MiB = 1 << 20;

let dir: { path: string; remove: () => void };
let cert = "";
let key = "";

beforeAll(async () => {
  dir = tempDir("giambio-peer-errors-");
  ({ cert, key } = await selfSignedCert());
});

afterAll(() => dir.remove());

interface Transport {
  name: string;
  listenOptions(): ListenOptions;
  /** Bun.connect options to reach `listener`, for a raw client that can `terminate()`. */
  rawClient(listener: Listener): { unix: string } | { hostname: string; port: number };
  clientTls(): TLSOptions | undefined;
}

const transports: Transport[] = [
  {
    name: "TCP",
    listenOptions: () => LOCALHOST,
    rawClient: (listener) => ({ hostname: "127.0.0.1", port: listener.port }),
    clientTls: () => undefined,
  },
  {
    name: "unix",
    listenOptions: () => ({ unix: `${dir.path}/s-${Math.random().toString(36).slice(2)}.sock` }),
    rawClient: (listener) => ({ unix: listener.unix as string }),
    clientTls: () => undefined,
  },
  {
    name: "TLS",
    listenOptions: () => ({ ...LOCALHOST, tls: { cert, key } }),
    rawClient: (listener) => ({ hostname: "127.0.0.1", port: listener.port }),
    clientTls: () => ({ ca: cert, serverName: "localhost" }),
  },
];

/**
 * Connects a raw Bun socket that never reads (paused), waits until it is usable, and returns
 * it: `terminate()` then resets the connection (SO_LINGER 0), with the server's unread reply
 * in its buffers.
 */
async function rawClient(transport: Transport, listener: Listener): Promise<Socket<unknown>> {
  const ready = Promise.withResolvers<void>();
  const tls = transport.clientTls();
  const socket = await until(
    Bun.connect({
      ...transport.rawClient(listener),
      ...(tls === undefined ? {} : { tls }),
      socket: {
        open: (s) => {
          if (tls !== undefined) return; // pausing now would stall the handshake
          s.pause();
          ready.resolve();
        },
        handshake: (s) => {
          s.pause();
          ready.resolve();
        },
        data: () => {},
      },
    } as Parameters<typeof Bun.connect>[0]),
  );
  await until(ready.promise);
  return socket;
}

describe.each(transports.map((t) => [t.name, t] as const))("over %s", (_, transport) => {
  test("a peer's reset ends only its connection: the server goes on, counts it and reports it", () =>
    run(async () => {
      const listener = await listen(transport.listenOptions());
      const started = new Event();
      const ended: unknown[] = [];
      const reported: string[] = [];
      await withTimeout(10_000, async (pool) => {
        pool.spawn(() =>
          listener.serve(
            async (stream) => {
              const tag = text(await stream.receive(1));
              if (tag === "E") return echo(stream);
              started.set();
              try {
                await stream.sendAll(new Uint8Array(8 * MiB)); // the peer never reads it
              } catch (error) {
                ended.push(error);
                throw error;
              }
            },
            { onPeerError: (error, stream) => reported.push(`${error.name} ${stream.peer}`) },
          ),
        );
        const resetter = await rawClient(transport, listener);
        resetter.write("R");
        await started.wait();
        await sleep(20); // the handler is parked in sendAll, the socket full
        resetter.terminate();
        while (listener.brokenConnections === 0) await sleep(5);

        expect(ended).toHaveLength(1);
        const error = ended[0] as BrokenResourceError;
        expect(error).toBeInstanceOf(BrokenResourceError);
        // A real reset: the kernel reported it as such.
        expect((error.cause as { code?: string }).code).toBe("ECONNRESET");
        expect(error.message).toContain("connection reset by peer (ECONNRESET)");
        // Handed to the parked sendAll from Bun's callback: no frames of the socket layer's.
        expect(error.stack).toBe(`BrokenResourceError: ${error.message}`);
        expect(reported).toEqual([expect.stringMatching(/^BrokenResourceError /)]);
        expect(listener.closed).toBe(false);

        // Still serving.
        const tls = transport.clientTls();
        const rawOptions = transport.rawClient(listener);
        await using client = await connect(tls === undefined ? rawOptions : { ...rawOptions, tls });
        await client.sendAll("Ehello");
        await client.sendEof();
        expect(text(await readAll(client))).toBe("hello");
        expect(listener.brokenConnections).toBe(1);
        pool.cancel();
      });
    }));

  test("a peer that leaves in the middle of a message (IncompleteReadError) ends its connection", () =>
    run(async () => {
      const listener = await listen(transport.listenOptions());
      await withTimeout(10_000, async (pool) => {
        pool.spawn(() =>
          listener.serve(async (stream) => {
            await stream.receiveExactly(10);
          }),
        );
        const tls = transport.clientTls();
        const rawOptions = transport.rawClient(listener);
        const client = await connect(tls === undefined ? rawOptions : { ...rawOptions, tls });
        await client.sendAll("abc");
        await client.close();
        while (listener.brokenConnections === 0) await sleep(5);
        expect(listener.closed).toBe(false);
        pool.cancel();
      });
    }));
});

describe("the default error policy", () => {
  test("a read-side reset (TCP RST while the handler waits in receive) ends only that connection", () =>
    run(async () => {
      const listener = await listen(LOCALHOST);
      const errors: unknown[] = [];
      await withTimeout(10_000, async (pool) => {
        pool.spawn(() =>
          listener.serve(async (stream) => {
            try {
              await stream.receive();
            } catch (error) {
              errors.push(error);
              throw error;
            }
          }),
        );
        const socket = await rawClient(transports[0] as Transport, listener);
        await sleep(20);
        socket.terminate();
        while (listener.brokenConnections === 0) await sleep(5);
        expect(errors).toEqual([expect.any(BrokenResourceError)]);
        expect(((errors[0] as Error).cause as { code?: string }).code).toBe("ECONNRESET");
        pool.cancel();
      });
    }));

  test("a BrokenResourceError the handler raises itself propagates", () =>
    run(async () => {
      const listener = await listen(LOCALHOST);
      const error = await withPool(async (pool) => {
        pool.spawn(() =>
          listener.serve(() => {
            throw new BrokenResourceError("made up");
          }),
        );
        await using _client = await connect({ hostname: "127.0.0.1", port: listener.port });
        await sleep(10_000); // cancelled by the serve's failure
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokenResourceError);
      expect((error as Error).message).toBe("made up");
      expect(listener.brokenConnections).toBe(0);
      expect(listener.closed).toBe(true);
    }));

  test("an IncompleteReadError from another stream (an upstream) propagates", () =>
    run(async () => {
      const upstream = await listen(LOCALHOST);
      const listener = await listen(LOCALHOST);
      const error = await withPool(async (pool) => {
        pool.spawn(() => upstream.serve((stream) => stream.sendAll("ab"))); // then closes
        pool.spawn(() =>
          listener.serve(async () => {
            await using up = await connect({ hostname: "127.0.0.1", port: upstream.port });
            await up.receiveExactly(5);
          }),
        );
        await using _client = await connect({ hostname: "127.0.0.1", port: listener.port });
        await sleep(10_000); // cancelled by the serve's failure
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IncompleteReadError);
      expect(listener.brokenConnections).toBe(0);
    }));

  test("an onError function sees the peer's reset itself; nothing is counted", () =>
    run(async () => {
      const listener = await listen(LOCALHOST);
      const seen: unknown[] = [];
      await withTimeout(10_000, async (pool) => {
        pool.spawn(() =>
          listener.serve((stream: SocketStream) => stream.receive(), {
            onError: (error) => {
              seen.push(error);
            },
            onPeerError: () => {
              throw new Error("not called when onError is a function");
            },
          }),
        );
        const socket = await rawClient(transports[0] as Transport, listener);
        await sleep(20);
        socket.terminate();
        while (seen.length === 0) await sleep(5);
        expect(seen).toEqual([expect.any(BrokenResourceError)]);
        expect(listener.brokenConnections).toBe(0);
        pool.cancel();
      });
    }));
});

describe("examples/echo.ts", () => {
  test("a client that connects and resets without reading the greeting (a health check) does not stop it", async () => {
    const server = Bun.spawn(["bun", `${import.meta.dir}/../../examples/echo.ts`], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      let port = 0;
      const { readLines } = await import("../support/read-lines.ts");
      const lines = readLines(server.stderr);
      for await (const line of lines) {
        const match = /Serving asynchronously at 127\.0\.0\.1:(\d+)$/.exec(line);
        if (match !== null) {
          port = Number(match[1]);
          break;
        }
      }
      await run(async () => {
        await withTimeout(10_000, async () => {
          for (let i = 0; i < 3; i++) {
            const probe = await until(
              Bun.connect({
                hostname: "127.0.0.1",
                port,
                socket: { open: (s) => s.pause(), data() {} },
              }),
            );
            await sleep(50); // the greeting sits unread in the probe's buffers
            probe.terminate();
          }
          await sleep(100);
          await using client = await connect({ hostname: "127.0.0.1", port });
          const greeting = "Welcome to the server pal, feel free to send me something!\n-> ";
          expect(text(await client.receiveExactly(greeting.length))).toBe(greeting);
          await client.sendAll("still here\n");
          expect(text(await client.receiveExactly("Got: still here\n-> ".length))).toBe(
            "Got: still here\n-> ",
          );
        });
      });
      expect(server.exitCode).toBeNull();
    } finally {
      server.kill();
      await server.exited;
    }
  }, 20_000);
});

describe("withoutStack", () => {
  test("makes the error without frames, its stack its first line, and restores the limit", () => {
    const limit = Error.stackTraceLimit;
    const error = withoutStack(() => new BrokenResourceError("the peer is gone"));
    expect(error.stack).toBe("BrokenResourceError: the peer is gone");
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error("after").stack).toContain("\n    at ");
  });

  test("restores the limit when making the error throws", () => {
    const limit = Error.stackTraceLimit;
    expect(() =>
      withoutStack((): Error => {
        throw new RangeError("no error for you");
      }),
    ).toThrow(RangeError);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  test("with a limit that cannot be changed (a frozen Error), the error keeps its stack", () => {
    const original = Object.getOwnPropertyDescriptor(
      Error,
      "stackTraceLimit",
    ) as PropertyDescriptor;
    Object.defineProperty(Error, "stackTraceLimit", { ...original, writable: false });
    try {
      const error = withoutStack(() => new BrokenResourceError("the peer is gone"));
      expect(error).toBeInstanceOf(BrokenResourceError);
      expect(error.stack).toContain("\n    at ");
    } finally {
      Object.defineProperty(Error, "stackTraceLimit", original);
    }
  });
});
