/**
 * In-memory stream pairs: the SocketStream interface without sockets, with backpressure
 * through a small buffer, random write splitting, and trio's cancellation semantics.
 */
import { describe, expect, test } from "bun:test";
import {
  BrokenResourceError,
  CancelledError,
  checkpoint,
  IncompleteReadError,
  MemoryStream,
  memoryStreamPair,
  ResourceBusyError,
  ResourceClosedError,
  run,
  withPool,
} from "../../src/index.ts";
import { text } from "./helpers.ts";

describe("memoryStreamPair", () => {
  test("streams come only from memoryStreamPair(): new MemoryStream() is a TypeError", () => {
    expect(() => new (MemoryStream as unknown as new () => unknown)()).toThrow(
      new TypeError(
        "new MemoryStream() is not public: call memoryStreamPair(options) to get a pair of streams",
      ),
    );
    // Nor can an end be rewired to another stream: the link is private.
    const [a] = memoryStreamPair();
    expect("connect" in a).toBe(false);
  });

  test("bytes flow both ways; EOF after sendEof; async iteration", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      expect(a.peer).toMatch(/^memory:\d+\/b$/);
      expect(b.remoteAddress).toBe("memory");
      await a.sendAll("ping");
      expect(text(await b.receive())).toBe("ping");
      await b.sendAll(new Uint8Array([1, 2, 3]));
      expect(await a.receiveExactly(3)).toEqual(new Uint8Array([1, 2, 3]));
      await a.sendAll("x\ny");
      await a.sendEof();
      await a.sendEof(); // idempotent
      const chunks: string[] = [];
      for await (const chunk of b) chunks.push(text(chunk));
      expect(chunks.join("")).toBe("x\ny");
      await expect(a.sendAll("more")).rejects.toBeInstanceOf(ResourceClosedError);
    }));

  test("for await parked before the bytes come: each chunk, then the end; a cancelled next() loses nothing", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      const got: string[] = [];
      await withPool(async (pool) => {
        pool.spawn(async () => {
          for await (const chunk of b) got.push(text(chunk));
        });
        await checkpoint(); // the reader is parked in the iterator's next()
        await a.sendAll("one");
        await checkpoint();
        await a.sendAll("two");
        await checkpoint();
        await a.sendEof();
      });
      expect(got).toEqual(["one", "two"]);

      const [c, d] = memoryStreamPair();
      const iterator = d[Symbol.asyncIterator]();
      await withPool(async (pool) => {
        const reader = pool.spawn(() => iterator.next());
        await checkpoint();
        reader.cancel();
        await expect(reader.join()).rejects.toBeInstanceOf(CancelledError);
      });
      await c.sendAll("kept");
      expect(await iterator.next()).toEqual({
        done: false,
        value: new TextEncoder().encode("kept"),
      });
      await c.sendEof();
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
    }));

  test("streams that never buffered share no bytes: each keeps what arrived for it", () =>
    // Receivers start on one shared empty buffer and get their own on the first chunk
    // nobody was waiting for; no stream may ever see another's bytes.
    run(async () => {
      const [a, b] = memoryStreamPair();
      const [c, d] = memoryStreamPair();
      await a.sendAll("for b");
      await c.sendAll("for d");
      await a.sendAll(", again");
      expect(text(await b.receiveExactly(12))).toBe("for b, again");
      expect(text(await d.receive())).toBe("for d");
      const [e, f] = memoryStreamPair();
      await e.sendAll("for f");
      expect(text(await f.receive())).toBe("for f");
    }));

  test("sendAll parks while the peer's buffer is full, and goes on as it reads", () =>
    run(async () => {
      const [a, b] = memoryStreamPair({ bufferSize: 100 });
      await withPool(async (pool) => {
        const sender = pool.spawn(() => a.sendAll(new Uint8Array(1000).fill(1)));
        for (let i = 0; i < 5; i++) await checkpoint();
        expect(sender.done).toBe(false); // the buffer holds about 100 bytes
        let got = 0;
        while (got < 1000) got += (await b.receive()).length;
        await sender.join();
        expect(got).toBe(1000);
      });
    }));

  test("splitWrites cuts writes into chunks of at most maxChunk bytes, the same for a seed", () =>
    run(async () => {
      const sizes = async (seed: number) => {
        const [a, b] = memoryStreamPair({ splitWrites: { seed, maxChunk: 5 } });
        await a.sendAll("abcdefghijklmnopqrstuvwxyz");
        await a.sendEof();
        const out: number[] = [];
        for await (const chunk of b) out.push(chunk.length);
        return out;
      };
      const first = await sizes(42);
      expect(first.reduce((x, y) => x + y, 0)).toBe(26);
      expect(Math.max(...first)).toBeLessThanOrEqual(5);
      expect(first.length).toBeGreaterThan(5);
      expect(await sizes(42)).toEqual(first);
    }));

  test("a cancelled receive loses nothing; a cancelled sendAll breaks the sending side", () =>
    run(async () => {
      const [a, b] = memoryStreamPair({ bufferSize: 10 });
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await checkpoint();
          pool.cancel();
        });
        await b.receiveExactly(5);
      });
      await a.sendAll("12345");
      expect(text(await b.receiveExactly(5))).toBe("12345");
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await checkpoint();
          pool.cancel();
        });
        await a.sendAll(new Uint8Array(100)); // parks: the buffer is full
      });
      const error = await a.sendAll("x").catch((e) => e);
      expect(error).toBeInstanceOf(BrokenResourceError);
      expect(error.message).toContain("cancelled midway");
    }));

  test("a cancelled scope refuses even a read that need not wait", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      await a.sendAll("ready");
      await withPool(async (pool) => {
        pool.cancel();
        await expect(b.receive()).rejects.toBeInstanceOf(CancelledError);
        await expect(b.receiveExactly(1)).rejects.toBeInstanceOf(CancelledError);
        await expect(b.receiveLine()).rejects.toBeInstanceOf(CancelledError);
        await expect(a.sendAll("x")).rejects.toBeInstanceOf(CancelledError);
      });
      expect(text(await b.receive())).toBe("ready");
    }));

  test("close: the peer reads EOF and its sends fail; a parked peer writer is woken", () =>
    run(async () => {
      const [a, b] = memoryStreamPair({ bufferSize: 10 });
      await withPool(async (pool) => {
        const writer = pool.spawn(() => a.sendAll(new Uint8Array(100)).catch((e) => e));
        await checkpoint();
        await b.close();
        expect(await writer.join()).toBeInstanceOf(BrokenResourceError);
      });
      const partial = await a.receiveExactly(3).catch((e) => e);
      expect(partial).toBeInstanceOf(IncompleteReadError);
      await expect(a.sendAll("x")).rejects.toBeInstanceOf(BrokenResourceError);
      await expect(b.receive()).rejects.toBeInstanceOf(ResourceClosedError);
      await b.close(); // idempotent
    }));

  test("two receivers or two senders at once: ResourceBusyError", () =>
    run(async () => {
      const [a, b] = memoryStreamPair({ bufferSize: 4 });
      await withPool(async (pool) => {
        pool.spawn(() => b.receive());
        await checkpoint();
        await expect(b.receive()).rejects.toBeInstanceOf(ResourceBusyError);
        await expect(b.receiveLine()).rejects.toBeInstanceOf(ResourceBusyError);
        pool.spawn(() => a.sendAll(new Uint8Array(100)));
        await checkpoint();
        await expect(a.sendAll("x")).rejects.toBeInstanceOf(ResourceBusyError);
        await expect(a.sendEof()).rejects.toBeInstanceOf(ResourceBusyError);
        pool.cancel();
      });
    }));

  test("bad options are refused with the option named", () => {
    expect(() => memoryStreamPair({ bufferSize: 0 })).toThrow(/bufferSize/);
    expect(() => memoryStreamPair({ bufSize: 1 } as never)).toThrow(/unknown option "bufSize"/);
    expect(() => memoryStreamPair({ splitWrites: { seed: 1, max: 2 } } as never)).toThrow(
      /unknown option "max"/,
    );
    expect(() => memoryStreamPair({ splitWrites: { seed: -1 } })).toThrow(RangeError);
  });

  test("await using closes the stream", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      {
        await using scoped = a;
        await scoped.sendAll("bye");
      }
      expect(text(await b.receive())).toBe("bye");
      expect((await b.receive()).length).toBe(0);
    }));
});
