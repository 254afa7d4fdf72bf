/**
 * Every decoder, and receiveExactly/receiveUntil, against a simple model: random frames go
 * through an in-memory pair that splits writes at random (seeded) into a reader whose reads
 * are cancelled at random. What the reader gets must be exactly the frames sent, in order —
 * so no byte is lost to a chunk boundary or to a cancelled read. A failing seed replays.
 */
import { describe, expect, test } from "bun:test";
import {
  type ByteStream,
  checkpoint,
  type Decoder,
  DelimiterDecoder,
  IncompleteReadError,
  LengthPrefixedDecoder,
  LinesDecoder,
  memoryStreamPair,
  run,
  withPool,
} from "../../src/index.ts";
import { seededRandom } from "../../src/seeded-random.ts";

const CANCELLED = Symbol("cancelled");
const encoder = new TextEncoder();

/** `read()`, cancelled after `checkpoints` checkpoints of a sibling unless it finished first. */
async function cancelledAfter<T>(
  checkpoints: number,
  read: () => Promise<T>,
): Promise<T | typeof CANCELLED> {
  let result: T | typeof CANCELLED = CANCELLED;
  await withPool(async (pool) => {
    pool.spawn(async () => {
      for (let i = 0; i < checkpoints; i++) await checkpoint();
      pool.cancel();
    });
    result = await read();
    pool.cancel();
  });
  return result;
}

interface Case<F> {
  name: string;
  decoder: () => Decoder<F>;
  frame: (random: () => number) => F;
  encode: (frame: F) => Uint8Array;
  /** The frame as the test compares it (a copy of a view). */
  normalize?: (frame: F) => unknown;
}

function bytesOf(random: () => number, max: number, avoid = -1): Uint8Array {
  const out = new Uint8Array(Math.floor(random() * max));
  for (let i = 0; i < out.length; i++) {
    let b = Math.floor(random() * 256);
    if (b === avoid) b = (b + 1) % 256;
    out[i] = b;
  }
  return out;
}

const copy = (frame: Uint8Array) => Array.from(frame);

const cases: Case<unknown>[] = [
  {
    name: "LinesDecoder",
    decoder: () => new LinesDecoder(),
    frame: (random) =>
      "ab c\té".slice(0, Math.floor(random() * 7)).repeat(Math.floor(random() * 4)),
    encode: (line) => encoder.encode(`${line}${Math.random() < 0.5 ? "\n" : "\r\n"}`),
  } as Case<string> as Case<unknown>,
  ...([1, 2, 4] as const).flatMap((lengthBytes) =>
    [false, true].map(
      (littleEndian) =>
        ({
          name: `LengthPrefixedDecoder ${lengthBytes} bytes ${littleEndian ? "LE" : "BE"}`,
          decoder: () => new LengthPrefixedDecoder({ lengthBytes, littleEndian }),
          frame: (random) => bytesOf(random, lengthBytes === 1 ? 255 : 700),
          encode: (payload) => {
            const out = new Uint8Array(lengthBytes + payload.length);
            const view = new DataView(out.buffer);
            if (lengthBytes === 1) view.setUint8(0, payload.length);
            else if (lengthBytes === 2) view.setUint16(0, payload.length, littleEndian);
            else view.setUint32(0, payload.length, littleEndian);
            out.set(payload, lengthBytes);
            return out;
          },
          normalize: copy,
        }) as Case<Uint8Array> as Case<unknown>,
    ),
  ),
  {
    name: "DelimiterDecoder",
    decoder: () => new DelimiterDecoder("||"),
    frame: (random) => bytesOf(random, 40, 0x7c),
    encode: (frame) => new Uint8Array([...frame, 0x7c, 0x7c]),
    normalize: copy,
  } as Case<Uint8Array> as Case<unknown>,
];

// The same decoders seen through `decode` alone (a user's decoder without `decodeAt`): the
// stream then hands each call a view of the unread bytes instead of an offset.
const decodeOnly = cases.map(
  (c): Case<unknown> => ({
    ...c,
    name: `${c.name}, decode() only`,
    decoder: () => {
      const inner = c.decoder();
      return { decode: (bytes) => inner.decode(bytes) };
    },
  }),
);

describe.each([...cases, ...decodeOnly])("$name against the model", (c) => {
  for (let seed = 1; seed <= 12; seed++) {
    test(`seed ${seed}`, () =>
      run(async () => {
        const random = seededRandom(seed * 7919);
        const frames = Array.from({ length: 60 }, () => c.frame(random));
        const [a, b] = memoryStreamPair({
          bufferSize: 1 + Math.floor(random() * 500),
          splitWrites: { seed, maxChunk: 1 + Math.floor(random() * 40) },
        });
        const normalize = c.normalize ?? ((f: unknown) => f);
        const got: unknown[] = [];
        let cancellations = 0;
        await withPool(async (pool) => {
          pool.spawn(async () => {
            for (const frame of frames) await a.sendAll(c.encode(frame));
            await a.sendEof();
          });
          const decoder = c.decoder();
          for (;;) {
            const frame =
              random() < 0.3
                ? await cancelledAfter(Math.floor(random() * 3), () => b.receiveFrame(decoder))
                : await b.receiveFrame(decoder);
            if (frame === CANCELLED) {
              cancellations++;
              continue;
            }
            if (frame === undefined) break;
            got.push(normalize(frame));
          }
        });
        expect(got).toEqual(frames.map(normalize));
        expect(cancellations).toBeGreaterThan(0); // reads were cancelled while waiting
      }));
  }
});

describe("receiveExactly and receiveUntil against the model", () => {
  for (let seed = 1; seed <= 15; seed++) {
    test(`seed ${seed}`, () =>
      run(async () => {
        const random = seededRandom(seed * 104729);
        const input = bytesOf(random, 20_000);
        for (let i = 0; i < input.length; i += 1 + Math.floor(random() * 60)) input[i] = 0x0a;
        const [a, b] = memoryStreamPair({
          bufferSize: 1 + Math.floor(random() * 2000),
          splitWrites: { seed, maxChunk: 1 + Math.floor(random() * 300) },
        });
        const got: number[] = [];
        let cancellations = 0;
        await withPool(async (pool) => {
          pool.spawn(async () => {
            await a.sendAll(input);
            await a.sendEof();
          });
          for (;;) {
            const useUntil = random() < 0.5;
            const n = Math.floor(random() * 100);
            const read = () => (useUntil ? b.receiveUntil("\n", 1000) : b.receiveExactly(n));
            let part: Uint8Array | typeof CANCELLED;
            try {
              part =
                random() < 0.3
                  ? await cancelledAfter(Math.floor(random() * 3), read)
                  : await read();
            } catch (error) {
              if (!(error instanceof IncompleteReadError)) throw error;
              got.push(...error.partial);
              break;
            }
            if (part === CANCELLED) {
              cancellations++;
              continue;
            }
            got.push(...part);
            if (useUntil) expect(part.at(-1)).toBe(0x0a);
            else expect(part.length).toBe(n);
          }
        });
        expect(got.length).toBe(input.length);
        expect(Buffer.compare(new Uint8Array(got), input)).toBe(0);
        expect(cancellations).toBeGreaterThan(0);
      }));
  }
});

test("a handler typed with ByteStream runs on a memory stream", () =>
  run(async () => {
    async function upperCaseLines(stream: ByteStream): Promise<void> {
      for await (const line of stream.frames(new LinesDecoder())) {
        await stream.sendAll(`${line.toUpperCase()}\n`);
      }
      await stream.sendEof();
    }
    const [client, server] = memoryStreamPair({ splitWrites: { seed: 3, maxChunk: 2 } });
    await withPool(async (pool) => {
      pool.spawn(() => upperCaseLines(server));
      await client.sendAll("hello\nworld\n");
      await client.sendEof();
      expect(await client.receiveLine()).toBe("HELLO");
      expect(await client.receiveLine()).toBe("WORLD");
      expect(await client.receiveLine()).toBeUndefined();
    });
  }));
