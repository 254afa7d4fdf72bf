import { describe, expect, test } from "bun:test";
import {
  BrokenResourceError,
  CancelledError,
  connect,
  currentTask,
  GiambioError,
  IncompleteReadError,
  type Listener,
  listen,
  ResourceBusyError,
  ResourceClosedError,
  run,
  skipAfter,
  sleep,
  withPool,
} from "../../src/index.ts";
import { concat, encode, LOCALHOST, pattern, readAll, text, withPair } from "./helpers.ts";

describe("receive", () => {
  test(
    "returns at least 1 and at most maxBytes, keeping the rest",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("0123456789");
        const first = await server.receive(4);
        expect(text(first)).toBe("0123");
        const rest = await server.receiveExactly(6);
        expect(text(rest)).toBe("456789");
      }),
    5000,
  );

  test(
    "an empty array means EOF, and stays so",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("last words");
        await client.sendEof();
        expect(text(await readAll(server))).toBe("last words");
        expect((await server.receive()).length).toBe(0);
        expect((await server.receive()).length).toBe(0);
      }),
    5000,
  );

  test(
    "a receive parked before the data arrives gets at most maxBytes of it",
    () =>
      withPair(async (client, server) => {
        await withPool(async (pool) => {
          const reader = pool.spawn(() => server.receive(3));
          await sleep(20);
          await client.sendAll("abcdef");
          expect(text(await reader.join())).toBe("abc");
        });
        expect(text(await server.receiveExactly(3))).toBe("def");
      }),
    5000,
  );

  test(
    "bad maxBytes is a RangeError naming the value",
    () =>
      withPair(async (_client, server) => {
        await expect(server.receive(0)).rejects.toThrow(/receive\(maxBytes\).*got 0/);
        await expect(server.receive(1.5)).rejects.toBeInstanceOf(RangeError);
        await expect(server.receiveExactly(-1)).rejects.toThrow(/receiveExactly\(n\).*got -1/);
      }),
    5000,
  );

  test(
    "for await yields every chunk until EOF",
    () =>
      withPair(async (client, server) => {
        const payload = pattern(300_000, 3);
        await withPool(async (pool) => {
          pool.spawn(async () => {
            await client.sendAll(payload);
            await client.sendEof();
          });
          expect(await readAll(server)).toEqual(payload);
        });
      }),
    10000,
  );

  test(
    "remote and local addresses are captured",
    () =>
      withPair(async (client, server) => {
        expect(client.remoteAddress).toBe("127.0.0.1");
        expect(server.remoteAddress).toBe("127.0.0.1");
        expect(client.remotePort).toBe(server.localPort);
        expect(server.remotePort).toBe(client.localPort);
        expect(server.peer).toBe(`127.0.0.1:${client.localPort}`);
        expect(String(server)).toBe(`SocketStream(127.0.0.1:${client.localPort})`);
      }),
    5000,
  );
});

describe("framing helpers", () => {
  test(
    "receiveExactly gathers bytes across chunks",
    () =>
      withPair(async (client, server) => {
        await withPool(async (pool) => {
          const reader = pool.spawn(() => server.receiveExactly(9));
          for (const part of ["abc", "de", "fghi"]) {
            await client.sendAll(part);
            await sleep(5);
          }
          expect(text(await reader.join())).toBe("abcdefghi");
        });
      }),
    5000,
  );

  test(
    "receiveExactly at early EOF raises IncompleteReadError with the partial data",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("short");
        await client.sendEof();
        const error = await server.receiveExactly(10).catch((e) => e);
        expect(error).toBeInstanceOf(IncompleteReadError);
        expect(text(error.partial)).toBe("short");
        expect(error.message).toContain("after 5 bytes");
      }),
    5000,
  );

  test(
    "receiveUntil returns lines including the delimiter, across chunk boundaries",
    () =>
      withPair(async (client, server) => {
        await withPool(async (pool) => {
          pool.spawn(async () => {
            for (const part of ["GET / HT", "TP/1.1\r", "\nHost: x\r\n\r", "\nbody"]) {
              await client.sendAll(part);
              await sleep(5);
            }
            await client.sendEof();
          });
          expect(text(await server.receiveUntil("\r\n"))).toBe("GET / HTTP/1.1\r\n");
          expect(text(await server.receiveUntil("\r\n\r\n"))).toBe("Host: x\r\n\r\n");
          const error = await server.receiveUntil(encode("\n")).catch((e) => e);
          expect(error).toBeInstanceOf(IncompleteReadError);
          expect(text(error.partial)).toBe("body");
        });
      }),
    5000,
  );

  test(
    "receiveUntil past maxBytes is an error that leaves the bytes in the stream",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("0123456789\n");
        await sleep(20);
        const error = await server.receiveUntil("\n", 8).catch((e) => e);
        expect(error).toBeInstanceOf(GiambioError);
        expect(error.message).toContain('receiveUntil("\\n", 8)');
        expect(text(await server.receiveUntil("\n", 11))).toBe("0123456789\n");
      }),
    5000,
  );

  test(
    "receiveUntil rejects an empty delimiter and a maxBytes shorter than it",
    () =>
      withPair(async (_client, server) => {
        await expect(server.receiveUntil("")).rejects.toBeInstanceOf(TypeError);
        await expect(server.receiveUntil("abc", 2)).rejects.toBeInstanceOf(RangeError);
      }),
    5000,
  );

  test(
    "framing helpers over random chunk splits on a real socket",
    () =>
      withPair(async (client, server) => {
        const messages = Array.from({ length: 60 }, (_, i) => pattern(1 + ((i * 37) % 200), i));
        const wire = concat(
          messages.flatMap((m) => [
            new Uint8Array([m.length]),
            m.map((b) => (b === 10 ? 11 : b)),
            encode("\n"),
          ]),
        );
        await withPool(async (pool) => {
          pool.spawn(async () => {
            let seed = 7;
            for (let at = 0; at < wire.length; ) {
              seed = (seed * 1103515245 + 12345) >>> 0;
              const n = 1 + (seed % 50);
              await client.sendAll(wire.subarray(at, at + n));
              at += n;
              if (seed % 3 === 0) await sleep(1);
            }
            await client.sendEof();
          });
          for (const message of messages) {
            const [length] = await server.receiveExactly(1);
            const line = await server.receiveUntil("\n", 256);
            expect(line.length).toBe((length as number) + 1);
            expect(line.subarray(0, -1)).toEqual(message.map((b) => (b === 10 ? 11 : b)));
          }
          expect((await server.receive()).length).toBe(0);
        });
      }),
    10000,
  );
});

describe("sendAll", () => {
  test(
    "sends strings as UTF-8 and rejects other types with a TypeError",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("héllo ✓");
        expect(text(await server.receiveExactly(encode("héllo ✓").length))).toBe("héllo ✓");
        await expect(client.sendAll(42 as never)).rejects.toThrow(/sendAll\(data\).*got 42/);
        await client.sendAll(new Uint8Array(0));
      }),
    5000,
  );

  test(
    "waits for drain while the peer does not read (write backpressure), then delivers 16 MiB",
    () =>
      withPair(async (client, server) => {
        const payload = pattern(16 << 20, 1);
        await withPool(async (pool) => {
          const sender = pool.spawn(async () => {
            await client.sendAll(payload);
            await client.sendEof();
          });
          await sleep(200);
          expect(sender.done).toBe(false); // parked on drain: the socket is full
          const received = await readAll(server);
          expect(received.length).toBe(payload.length);
          expect(received).toEqual(payload);
        });
      }),
    15000,
  );

  test(
    "a slow reader pauses the socket, and every byte still arrives in order",
    () =>
      withPair(async (client, server) => {
        const payload = pattern(4 << 20, 2);
        await withPool(async (pool) => {
          pool.spawn(async () => {
            await client.sendAll(payload);
            await client.sendEof();
          });
          const chunks: Uint8Array[] = [];
          for (;;) {
            const chunk = await server.receive(16384);
            if (chunk.length === 0) break;
            chunks.push(chunk);
            if (chunks.length % 16 === 0) await sleep(1);
          }
          expect(concat(chunks)).toEqual(payload);
        });
      }),
    15000,
  );
});

describe("half-close", () => {
  test(
    "client sendEof: the server reads to EOF and can still answer",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("question");
        await client.sendEof();
        expect(text(await readAll(server))).toBe("question");
        await server.sendAll("answer");
        await server.sendEof();
        expect(text(await readAll(client))).toBe("answer");
        await expect(client.sendAll("more")).rejects.toThrow(ResourceClosedError);
        await client.sendEof(); // idempotent
      }),
    5000,
  );

  test(
    "server sendEof: the client reads to EOF and can still send",
    () =>
      withPair(async (client, server) => {
        await server.sendAll("bye");
        await server.sendEof();
        expect(text(await readAll(client))).toBe("bye");
        await client.sendAll("still here");
        expect(text(await server.receiveExactly(10))).toBe("still here");
      }),
    5000,
  );
});

describe("errors", () => {
  test(
    "use after close is ResourceClosedError; close is idempotent",
    () =>
      withPair(async (client) => {
        await client.close();
        await client.close();
        await expect(client.receive()).rejects.toThrow(ResourceClosedError);
        await expect(client.receiveExactly(1)).rejects.toThrow(ResourceClosedError);
        await expect(client.receiveUntil("\n")).rejects.toThrow(ResourceClosedError);
        await expect(client.sendAll("x")).rejects.toThrow(
          /sendAll\(\) on SocketStream\(127\.0\.0\.1:\d+\) after close\(\)/,
        );
        await expect(client.sendEof()).rejects.toThrow(ResourceClosedError);
      }),
    5000,
  );

  test(
    "the peer sees EOF after close()",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("x");
        await client.close();
        expect(text(await readAll(server))).toBe("x");
      }),
    5000,
  );

  test(
    "two receivers at once is ResourceBusyError naming the other task",
    () =>
      withPair(async (_client, server) => {
        await withPool(async (pool) => {
          pool.spawnNamed("first-reader", () => server.receive());
          const error = await server.receive().catch((e) => e);
          expect(error).toBeInstanceOf(ResourceBusyError);
          expect(error.message).toContain("'first-reader'");
          await expect(server.receiveExactly(2)).rejects.toThrow(ResourceBusyError);
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "two senders at once is ResourceBusyError",
    () =>
      withPair(async (client) => {
        await withPool(async (pool) => {
          pool.spawnNamed("big-sender", () => client.sendAll(new Uint8Array(32 << 20)));
          await sleep(20);
          const error = await client.sendAll("x").catch((e) => e);
          expect(error).toBeInstanceOf(ResourceBusyError);
          expect(error.message).toContain("'big-sender'");
          await expect(client.sendEof()).rejects.toThrow(ResourceBusyError);
          pool.cancel();
        });
      }),
    10000,
  );

  test(
    "close() by another task wakes a parked receiver with ResourceClosedError",
    () =>
      withPair(async (_client, server) => {
        await withPool(async (pool) => {
          const reader = pool.spawn(() => server.receive().catch((e) => e));
          await sleep(10);
          await server.close();
          expect(await reader.join()).toBeInstanceOf(ResourceClosedError);
        });
      }),
    5000,
  );

  test(
    "a peer reset is BrokenResourceError, after the bytes that came before it",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        const { raw, server } = await resettablePeer(listener);
        raw.write("before reset");
        await sleep(20);
        raw.terminate();
        expect(text(await server.receiveExactly(12))).toBe("before reset");
        const error = await server.receive().catch((e) => e);
        expect(error).toBeInstanceOf(BrokenResourceError);
        expect(error.message).toContain("ECONNRESET");
        await expect(server.sendAll("x")).rejects.toThrow(BrokenResourceError);
        await server.close();
      }),
    5000,
  );

  test(
    "a reset handed to a parked receive carries no stack (its frames would be the socket layer's); a later call's error has the caller's",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        const { raw, server } = await resettablePeer(listener);
        const error = await withPool(async (pool) => {
          const reader = pool.spawn(() => server.receive().catch((e) => e));
          await sleep(20); // parked in receive
          raw.terminate();
          return reader.join();
        });
        expect(error).toBeInstanceOf(BrokenResourceError);
        expect(error.stack).toBe(`BrokenResourceError: ${error.message}`);
        expect(error.message).toContain("ECONNRESET");
        // Made in this call, not in a callback: the frames say where the read was made.
        const later = await server.receive().catch((e) => e);
        expect(later).toBeInstanceOf(BrokenResourceError);
        expect(later.stack).toContain("\n    at ");
        await server.close();
      }),
    5000,
  );

  test(
    "writing to a peer that is gone is BrokenResourceError",
    () =>
      withPair(async (client, server) => {
        await client.close();
        const error = await (async () => {
          for (let i = 0; i < 100; i++) {
            await server.sendAll(pattern(65536));
            await sleep(5);
          }
        })().catch((e) => e);
        expect(error).toBeInstanceOf(BrokenResourceError);
      }),
    10000,
  );

  test(
    "a parked sendAll fails with BrokenResourceError when the peer resets",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        const raw = await Bun.connect({
          hostname: "127.0.0.1",
          port: listener.port,
          socket: { data() {} },
        });
        raw.pause();
        const server = await listener.accept();
        await withPool(async (pool) => {
          const sender = pool.spawn(() => server.sendAll(new Uint8Array(32 << 20)).catch((e) => e));
          await sleep(50);
          expect(sender.done).toBe(false);
          raw.terminate();
          expect(await sender.join()).toBeInstanceOf(BrokenResourceError);
        });
        await server.close();
      }),
    10000,
  );
});

describe("cancellation", () => {
  test(
    "a cancelled receive loses no data",
    () =>
      withPair(async (client, server) => {
        const result = await skipAfter(20, () => server.receive());
        expect(result).toBeUndefined();
        await client.sendAll("kept");
        expect(text(await server.receive())).toBe("kept");
      }),
    5000,
  );

  test(
    "a cancelled receiveExactly leaves what it gathered in the stream",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("abc");
        const result = await skipAfter(30, () => server.receiveExactly(6));
        expect(result).toBeUndefined();
        await client.sendAll("def");
        expect(text(await server.receiveExactly(6))).toBe("abcdef");
      }),
    5000,
  );

  test(
    "a cancelled receiveUntil leaves the bytes in the stream",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("no newline yet");
        expect(await skipAfter(30, () => server.receiveUntil("\n"))).toBeUndefined();
        await client.sendAll("!\n");
        expect(text(await server.receiveUntil("\n"))).toBe("no newline yet!\n");
      }),
    5000,
  );

  test(
    "receive in a cancelled scope raises CancelledError even with data buffered",
    () =>
      withPair(async (client, server) => {
        await client.sendAll("data");
        await sleep(20);
        await withPool(async (pool) => {
          pool.cancel();
          await expect(server.receive()).rejects.toThrow(CancelledError);
          await expect(client.sendAll("x")).rejects.toThrow(CancelledError);
          await expect(client.sendEof()).rejects.toThrow(CancelledError);
          await expect(server.receiveExactly(1)).rejects.toThrow(CancelledError);
          await expect(server.receiveUntil("a")).rejects.toThrow(CancelledError);
        });
        expect(text(await server.receive())).toBe("data");
      }),
    5000,
  );

  test(
    "a sendAll cancelled midway marks the stream broken for sending; close still works",
    () =>
      withPair(async (client, server) => {
        const result = await skipAfter(50, () => client.sendAll(new Uint8Array(32 << 20)));
        expect(result).toBeUndefined();
        const error = await client.sendAll("x").catch((e) => e);
        expect(error).toBeInstanceOf(BrokenResourceError);
        expect(error.message).toContain("cancelled midway");
        // Receiving still works.
        await server.sendAll("reply");
        expect(text(await client.receiveExactly(5))).toBe("reply");
        await client.close();
        const received = await readAll(server);
        expect(received.length).toBeGreaterThan(0);
        expect(received.length).toBeLessThan(32 << 20);
      }),
    10000,
  );

  test(
    "close() waits for another task's sendAll to flush, so every byte arrives",
    () =>
      withPair(async (client, server) => {
        const payload = pattern(8 << 20, 5);
        await withPool(async (pool) => {
          const sender = pool.spawn(() => client.sendAll(payload));
          await sleep(20);
          expect(sender.done).toBe(false);
          pool.spawn(async () => {
            expect(await readAll(server)).toEqual(payload);
          });
          await client.close();
          expect(sender.state).toBe("finished");
        });
      }),
    10000,
  );

  test(
    "a cancelled close() aborts the connection and does not throw",
    () =>
      withPair(async (client, server) => {
        await withPool(async (pool) => {
          const sender = pool.spawn(() => client.sendAll(new Uint8Array(32 << 20)).catch((e) => e));
          await sleep(20);
          const closed = await skipAfter(30, () => client.close());
          expect(closed).toBeUndefined(); // close resolved (not rejected) when its wait was cut short
          expect(await sender.join()).toBeInstanceOf(ResourceClosedError);
          const error = await readAll(server).catch((e) => e);
          expect(error).toBeInstanceOf(BrokenResourceError); // the peer sees a reset
        });
      }),
    10000,
  );

  test(
    "await using closes the stream even when the task is cancelled",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        await withPool(async (pool) => {
          pool.spawn(async () => {
            await using stream = await connect({ hostname: "127.0.0.1", port: listener.port });
            await stream.receive(); // never returns: cancelled below
          });
          const server = await listener.accept();
          await sleep(10);
          pool.cancel();
          expect((await server.receive()).length).toBe(0);
          await server.close();
        });
        expect(currentTask().state).toBe("running");
      }),
    5000,
  );
});

/** A server stream whose peer is a plain Bun socket, which the test resets with `terminate()`. */
async function resettablePeer(listener: Listener) {
  const raw = await Bun.connect({
    hostname: "127.0.0.1",
    port: listener.port,
    socket: { data() {} },
  });
  return { raw, server: await listener.accept() };
}
