/**
 * `Decoder.decodeAt(bytes, start)`: the ready-made decoders (and the redis example's) answer
 * exactly as `decode(bytes.subarray(start))` does, errors included; the stream calls it with
 * the unread bytes from `start` on; and a decoder whose `decodeAt` is no function, or whose
 * `decodeAt` returns a bad length, gets a `TypeError` that says so.
 */
import { describe, expect, test } from "bun:test";
import { RespDecoder } from "../../examples/redis-server.ts";
import {
  type Decoded,
  type Decoder,
  DelimiterDecoder,
  type Dropped,
  LengthPrefixedDecoder,
  LinesDecoder,
  memoryStreamPair,
  run,
  withPool,
} from "../../src/index.ts";
import { seededRandom } from "../../src/seeded-random.ts";

type Outcome = { frame: unknown; length: number } | { drop: number } | null | { error: string };

/** One call's outcome, comparable: a frame copied out of its view, or the error it threw. */
function outcomeOf(call: () => Decoded<unknown> | Dropped | null): Outcome {
  try {
    const result = call();
    if (result === null) return null;
    if ("drop" in result) return { drop: result.drop };
    const frame = result.frame instanceof Uint8Array ? Array.from(result.frame) : result.frame;
    return { frame, length: result.length };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

/** Bytes drawn mostly from `alphabet`, so that frames and their terminators turn up. */
function randomBytes(random: () => number, alphabet: number[], max: number): Uint8Array {
  const out = new Uint8Array(Math.floor(random() * max));
  for (let i = 0; i < out.length; i++) {
    out[i] =
      random() < 0.9
        ? (alphabet[Math.floor(random() * alphabet.length)] as number)
        : Math.floor(random() * 256);
  }
  return out;
}

const text = (s: string) => [...Buffer.from(s, "latin1")];
const decoders: { name: string; make: () => Decoder<unknown>; alphabet: number[] }[] = [
  { name: "LinesDecoder", make: () => new LinesDecoder(), alphabet: text("ab\r\n\xef\xbb\xbf") },
  {
    name: "LinesDecoder with maxLength",
    make: () => new LinesDecoder({ maxLength: 3 }),
    alphabet: text("ab\r\n"),
  },
  {
    name: "LengthPrefixedDecoder",
    make: () => new LengthPrefixedDecoder({ lengthBytes: 2, maxLength: 20 }),
    alphabet: [0, 1, 2, 3, 7, 65],
  },
  {
    name: "LengthPrefixedDecoder, little-endian, length with header",
    make: () =>
      new LengthPrefixedDecoder({ lengthBytes: 4, littleEndian: true, lengthIncludesHeader: true }),
    alphabet: [0, 1, 4, 5, 6, 9],
  },
  {
    name: "DelimiterDecoder",
    make: () => new DelimiterDecoder("||", { maxLength: 6 }),
    alphabet: text("a|"),
  },
  {
    name: "RespDecoder (examples/redis-server.ts)",
    make: () => new RespDecoder(),
    alphabet: text("*$123\r\nSETab -x"),
  },
];

describe.each(decoders)("$name: decodeAt(bytes, start)", ({ make, alphabet }) => {
  test("answers as decode(bytes.subarray(start)), call after call, errors included", () => {
    const random = seededRandom(4242);
    // Two instances fed the same calls: decoders keep state between calls.
    for (let round = 0; round < 300; round++) {
      const viaDecode = make();
      const viaDecodeAt = make();
      for (let call = 0; call < 6; call++) {
        const bytes = randomBytes(random, alphabet, 40);
        const start = Math.floor(random() * (bytes.length + 1));
        const expected = outcomeOf(() => viaDecode.decode(bytes.subarray(start)));
        const got = outcomeOf(() =>
          (viaDecodeAt.decodeAt as NonNullable<Decoder<unknown>["decodeAt"]>)(bytes, start),
        );
        expect(got).toEqual(expected);
      }
    }
  });
});

test("the stream calls decodeAt with the unread bytes from start on", () =>
  run(async () => {
    const lines = new LinesDecoder();
    const seen: string[] = [];
    const spy: Decoder<string> = {
      decode: () => {
        throw new Error("decode() is not called when decodeAt() is there");
      },
      decodeAt(bytes, start) {
        seen.push(Buffer.from(bytes.subarray(start)).toString("latin1"));
        return lines.decodeAt(bytes, start);
      },
    };
    const [a, b] = memoryStreamPair({ splitWrites: { seed: 5, maxChunk: 3 } });
    await withPool(async (pool) => {
      pool.spawn(async () => {
        await a.sendAll("one\ntwo\nthree\n");
        await a.sendEof();
      });
      const got: string[] = [];
      for await (const line of b.frames(spy)) got.push(line);
      expect(got).toEqual(["one", "two", "three"]);
    });
    // Every call saw a prefix of what was left unread at that point.
    const input = "one\ntwo\nthree\n";
    for (const unread of seen) expect(input.includes(unread)).toBe(true);
    expect(seen).toContain("three\n");
  }));

describe("a decoder's decodeAt that is wrong", () => {
  const notAFunction = { decode: () => null, decodeAt: 5 } as unknown as Decoder<unknown>;

  test("present but not a function: TypeError from frames, frameBatches and receiveFrame", () =>
    run(async () => {
      const [, b] = memoryStreamPair();
      const message =
        /the decoder's decodeAt, when present, must be a method decodeAt\(bytes, start\), got 5/;
      expect(() => b.frames(notAFunction)).toThrow(message);
      expect(() => b.frameBatches(notAFunction)).toThrow(message);
      await expect(b.receiveFrame(notAFunction)).rejects.toThrow(message);
    }));

  test("a length out of range: TypeError naming decodeAt(), the bytes stay", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      await a.sendAll("abc");
      const tooLong: Decoder<string> = {
        decode: () => null,
        decodeAt: () => ({ frame: "x", length: 4 }),
      };
      await expect(b.receiveFrame(tooLong)).rejects.toThrow(
        /decodeAt\(\) returned length 4: it must be an integer from 1 to the 3 bytes from the start it was given/,
      );
      expect(new TextDecoder().decode(await b.receiveExactly(3))).toBe("abc");
    }));
});
