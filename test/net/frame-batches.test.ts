/**
 * `stream.frameBatches(decoder)`: every whole frame buffered, as one array, on both streams
 * that share `src/net/receiver.ts` (a `SocketStream` over a fake socket, whose chunks the test
 * delivers as Bun would, and a `MemoryStream`), and against a model under random splits and
 * random cancellations.
 */
import { describe, expect, test } from "bun:test";
import {
  type ByteStream,
  CancelledError,
  checkpoint,
  type Decoder,
  DelimiterDecoder,
  FrameTooLongError,
  IncompleteReadError,
  LengthPrefixedDecoder,
  LinesDecoder,
  memoryStreamPair,
  ResourceBusyError,
  ResourceClosedError,
  run,
  withPool,
} from "../../src/index.ts";
import { SocketStream } from "../../src/net/stream.ts";
import { SOCKET_CALLBACKS } from "../../src/net/transport-symbols.ts";
import { seededRandom } from "../../src/seeded-random.ts";
import { fakeStream } from "./fake-socket.ts";

const encoder = new TextEncoder();

/** A stream under test, and the peer's side of it: deliver bytes, then EOF. */
interface Rig {
  stream: ByteStream;
  /** Delivers `text` as one chunk. */
  deliver(text: string | Uint8Array): Promise<void>;
  eof(): Promise<void>;
}

const rigs: { name: string; make: () => Rig }[] = [
  {
    name: "SocketStream",
    make: () => {
      const { socket, stream } = fakeStream();
      const callbacks = SocketStream[SOCKET_CALLBACKS];
      return {
        stream,
        deliver: async (text) => {
          const bytes = typeof text === "string" ? encoder.encode(text) : text;
          callbacks.data(socket as never, bytes as never);
        },
        eof: async () => callbacks.end(socket as never),
      };
    },
  },
  {
    name: "MemoryStream",
    make: () => {
      const [peer, stream] = memoryStreamPair();
      return { stream, deliver: (text) => peer.sendAll(text), eof: () => peer.sendEof() };
    },
  },
];

/** Newline-separated frames that throws on a line starting with `!` (a protocol error). */
class StrictLines implements Decoder<string> {
  readonly #lines = new LinesDecoder();
  /** Errors thrown so far: each one says its number. */
  errors = 0;
  decode(bytes: Uint8Array) {
    if (bytes[0] === 0x21) throw new TypeError(`a line starting with '!' (#${++this.errors})`);
    return this.#lines.decode(bytes);
  }
}

describe.each(rigs)("frameBatches on a $name", ({ make }) => {
  test("a burst comes as one array; the iterator waits for the next burst; EOF between frames ends it", () =>
    run(async () => {
      const { stream, deliver, eof } = make();
      const batches: string[][] = [];
      await withPool(async (pool) => {
        pool.spawn(async () => {
          for await (const batch of stream.frameBatches(new LinesDecoder())) batches.push(batch);
        });
        await checkpoint();
        await deliver("a\nb\nc\nhalf");
        await checkpoint();
        expect(batches).toEqual([["a", "b", "c"]]);
        await deliver(" line\n");
        await checkpoint();
        await eof();
      });
      expect(batches).toEqual([["a", "b", "c"], ["half line"]]);
    }));

  test("EOF inside a frame: the whole frames first, then IncompleteReadError with the partial bytes", () =>
    run(async () => {
      const { stream, deliver, eof } = make();
      await deliver("one\ntwo\nthr");
      await eof();
      const batches = stream.frameBatches(new LinesDecoder());
      expect(await batches.next()).toEqual({ done: false, value: ["one", "two"] });
      const error = await batches.next().catch((caught) => caught);
      expect(error).toBeInstanceOf(IncompleteReadError);
      expect(error.message).toContain("frameBatches()");
      expect(new TextDecoder().decode(error.partial)).toBe("thr");
    }));

  test("a decoder error after some frames: those frames first, the error at the next call, the bytes kept", () =>
    run(async () => {
      const { stream, deliver } = make();
      await deliver("one\ntwo\n!bad\n");
      const decoder = new StrictLines();
      const batches = stream.frameBatches(decoder);
      expect(await batches.next()).toEqual({ done: false, value: ["one", "two"] });
      // The very error the decoder threw while the batch was built, not a second decode's.
      await expect(batches.next()).rejects.toThrow("a line starting with '!' (#1)");
      expect(decoder.errors).toBe(1);
      // Nothing was consumed by the failed decode: a plain read still sees the line.
      expect(await stream.receiveLine()).toBe("!bad");
    }));

  test("more than maxFrameLength buffered with no frame: FrameTooLongError, after the frames before it", () =>
    run(async () => {
      const { stream, deliver } = make();
      stream.maxFrameLength = 8;
      await deliver("ok\nthis line is far too long");
      const batches = stream.frameBatches(new DelimiterDecoder("\n"));
      const first = await batches.next();
      expect(first.done).toBe(false);
      expect((first.value as Uint8Array[]).map((f) => new TextDecoder().decode(f))).toEqual(["ok"]);
      await expect(batches.next()).rejects.toBeInstanceOf(FrameTooLongError);
    }));

  test("a cancellation point even with frames buffered; nothing consumed", () =>
    run(async () => {
      const { stream, deliver } = make();
      await deliver("a\nb\n");
      const batches = stream.frameBatches(new LinesDecoder());
      await withPool(async (pool) => {
        pool.cancel();
        await expect(batches.next()).rejects.toBeInstanceOf(CancelledError);
      });
      expect(await batches.next()).toEqual({ done: false, value: ["a", "b"] });
    }));

  test("cancelled while waiting: no byte lost, the next read gets the whole burst", () =>
    run(async () => {
      const { stream, deliver } = make();
      await deliver("par");
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await stream.frameBatches(new LinesDecoder()).next();
        });
        await checkpoint();
        pool.cancel();
      });
      await deliver("tial\nnext\n");
      expect(await stream.frameBatches(new LinesDecoder()).next()).toEqual({
        done: false,
        value: ["partial", "next"],
      });
    }));

  test("a second reader while one waits: ResourceBusyError naming frameBatches; after close(): ResourceClosedError", () =>
    run(async () => {
      const { stream } = make();
      await withPool(async (pool) => {
        pool.spawn(() => stream.frameBatches(new LinesDecoder()).next());
        await checkpoint();
        const busy = stream.frameBatches(new LinesDecoder()).next();
        await expect(busy).rejects.toBeInstanceOf(ResourceBusyError);
        await expect(busy).rejects.toThrow("frameBatches()");
        pool.cancel();
      });
      await stream.close();
      await expect(stream.frameBatches(new LinesDecoder()).next()).rejects.toBeInstanceOf(
        ResourceClosedError,
      );
    }));

  test("a bad decoder: TypeError naming the call", () => {
    const { stream } = make();
    expect(() => stream.frameBatches({} as never)).toThrow(
      "frameBatches(decoder) must be a Decoder (an object with decode(bytes)), got an object",
    );
  });
});

describe("frameBatches against the model", () => {
  let cancellations = 0;
  for (let seed = 1; seed <= 12; seed++) {
    test(`seed ${seed}`, () =>
      run(async () => {
        const random = seededRandom(seed * 6151);
        const frames = Array.from({ length: 500 }, () =>
          Array.from({ length: Math.floor(random() * 30) }, () => Math.floor(random() * 256)),
        );
        const [a, b] = memoryStreamPair({
          bufferSize: 1 + Math.floor(random() * 60),
          splitWrites: { seed, maxChunk: 1 + Math.floor(random() * 20) },
        });
        const decoder = new LengthPrefixedDecoder({ lengthBytes: 1 });
        const got: number[][] = [];
        let longest = 0;
        await withPool(async (pool) => {
          pool.spawn(async () => {
            // Several frames per write, so that bursts hold more than one.
            for (let i = 0; i < frames.length; ) {
              const n = 1 + Math.floor(random() * 6);
              const burst = frames.slice(i, i + n).flatMap((f) => [f.length, ...f]);
              await a.sendAll(new Uint8Array(burst));
              i += n;
            }
            await a.sendEof();
          });
          const batches = b.frameBatches(decoder);
          for (;;) {
            let result: IteratorResult<Uint8Array[]> | undefined;
            if (random() < 0.3) {
              // Cancelled after a few of a sibling's checkpoints unless it finished first.
              const checkpoints = Math.floor(random() * 3);
              await withPool(async (inner) => {
                inner.spawn(async () => {
                  for (let i = 0; i < checkpoints; i++) await checkpoint();
                  inner.cancel();
                });
                result = await batches.next();
                inner.cancel();
              });
              if (result === undefined) {
                cancellations++;
                continue;
              }
            } else {
              result = await batches.next();
            }
            if (result.done) break;
            expect(result.value.length).toBeGreaterThan(0);
            longest = Math.max(longest, result.value.length);
            for (const frame of result.value) got.push(Array.from(frame));
          }
        });
        expect(got).toEqual(frames);
        expect(longest).toBeGreaterThan(1); // some batches held several frames
      }));
  }
  test("reads were cancelled while waiting (over the seeds above)", () => {
    expect(cancellations).toBeGreaterThan(0);
  });
});
