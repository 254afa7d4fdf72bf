/**
 * The RESP2 request decoder of examples/redis-server.ts, on its own: pure code over bytes,
 * fed the way the stream feeds a decoder (every unread byte, contiguous, again after each
 * new chunk), against a model of what was encoded.
 */
import { describe, expect, test } from "bun:test";
import {
  MAX_BULK_LENGTH,
  MAX_INLINE_LENGTH,
  ProtocolError,
  RespDecoder,
  splitInlineArgs,
} from "../../examples/redis-server.ts";
import { seededRandom } from "../../src/seeded-random.ts";
import { encodeArray } from "./resp.ts";

const bytesOf = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));

/**
 * Feeds `chunks` to `decoder` as the stream does: decode over all unread bytes until it
 * returns null, then wait for the next chunk. Returns the frames, and the bytes left over.
 */
function feed(decoder: RespDecoder, chunks: Uint8Array[]): { frames: string[][]; rest: number } {
  const frames: string[][] = [];
  let unread = new Uint8Array(0);
  for (const chunk of chunks) {
    const joined = new Uint8Array(unread.length + chunk.length);
    joined.set(unread);
    joined.set(chunk, unread.length);
    unread = joined;
    for (;;) {
      const decoded = decoder.decode(unread);
      if (decoded === null) break;
      expect(decoded.length).toBeGreaterThanOrEqual(1);
      expect(decoded.length).toBeLessThanOrEqual(unread.length);
      frames.push(decoded.frame);
      unread = unread.subarray(decoded.length);
    }
  }
  return { frames, rest: unread.length };
}

function decodeAll(text: string): string[][] {
  const { frames, rest } = feed(new RespDecoder(), [bytesOf(text)]);
  expect(rest).toBe(0);
  return frames;
}

function protocolError(text: string): string {
  try {
    feed(new RespDecoder(), [bytesOf(text)]);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).message;
  }
  throw new Error(`no protocol error for ${JSON.stringify(text)}`);
}

/** Splits `bytes` at random points into chunks (some of a single byte). */
function randomChunks(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = random() < 0.3 ? 1 : 1 + Math.floor(random() * 40);
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

/** A random argument: binary (any byte, CR and LF included), sometimes empty or long. */
function randomArg(random: () => number): string {
  const length =
    random() < 0.1
      ? 0
      : random() < 0.15
        ? 30 + Math.floor(random() * 200)
        : 1 + Math.floor(random() * 12);
  let arg = "";
  for (let i = 0; i < length; i++) {
    arg += String.fromCharCode(
      random() < 0.1
        ? ([13, 10, 36, 42][Math.floor(random() * 4)] as number)
        : Math.floor(random() * 256),
    );
  }
  return arg;
}

/** A random inline word: printable, no spaces or quotes. */
function randomWord(random: () => number): string {
  const length = 1 + Math.floor(random() * 10);
  let word = "";
  for (let i = 0; i < length; i++) word += String.fromCharCode(0x30 + Math.floor(random() * 40));
  return word;
}

describe("RESP decoder", () => {
  test("an array of bulk strings is one frame of its arguments", () => {
    expect(decodeAll("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")).toEqual([
      ["SET", "key", "value"],
    ]);
  });

  test("bulk strings are binary-safe: CR, LF and bytes above 0x7f survive as latin1", () => {
    const arg = "a\r\nb\x00\xff\x80";
    const long = "\xfe".repeat(100); // long enough to take the non-loop path
    expect(decodeAll(encodeArray(["SET", arg, long]))).toEqual([["SET", arg, long]]);
  });

  test("pipelined commands in one chunk are separate frames", () => {
    const text = [encodeArray(["PING"]), encodeArray(["GET", "k"]), "ECHO hi\r\n"].join("");
    expect(decodeAll(text)).toEqual([["PING"], ["GET", "k"], ["ECHO", "hi"]]);
  });

  test("inline commands: words split on white space, \\n or \\r\\n ends the line", () => {
    expect(decodeAll("SET  k\tv \r\nGET k\n")).toEqual([
      ["SET", "k", "v"],
      ["GET", "k"],
    ]);
  });

  test("an empty line and an empty array are empty frames (the server ignores them)", () => {
    expect(decodeAll("\r\n   \r\n*0\r\n*-1\r\nPING\r\n")).toEqual([[], [], [], [], ["PING"]]);
  });

  test("an empty bulk string is an empty argument", () => {
    expect(decodeAll("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n")).toEqual([["ECHO", ""]]);
  });

  test("nothing whole buffered yet: null, and nothing consumed", () => {
    const decoder = new RespDecoder();
    for (const partial of [
      "",
      "*",
      "*2\r",
      "*2\r\n$3\r\nGET\r\n$1",
      "*1\r\n$4\r\nPING\r",
      "GET k",
    ]) {
      expect(new RespDecoder().decode(bytesOf(partial))).toBeNull();
    }
    // The same partial bytes again (a wake-up with nothing new) change nothing.
    const partial = bytesOf("*2\r\n$3\r\nGET\r\n$1\r");
    expect(decoder.decode(partial)).toBeNull();
    expect(decoder.decode(partial)).toBeNull();
    const whole = decoder.decode(bytesOf("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"));
    expect(whole?.frame).toEqual(["GET", "k"]);
    expect(whole?.length).toBe(20);
  });

  test("random chunk splits of random commands decode to exactly the commands sent", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = seededRandom(seed);
      const commands: string[][] = [];
      let text = "";
      for (let n = 1 + Math.floor(random() * 20); n > 0; n--) {
        if (random() < 0.3) {
          const words = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
            randomWord(random),
          );
          commands.push(words);
          text += `${words.join(" ")}${random() < 0.5 ? "\r\n" : "\n"}`;
        } else {
          const args = Array.from({ length: 1 + Math.floor(random() * 5) }, () =>
            randomArg(random),
          );
          commands.push(args);
          text += encodeArray(args);
        }
      }
      const { frames, rest } = feed(new RespDecoder(), randomChunks(bytesOf(text), random));
      if (rest !== 0 || !Bun.deepEquals(frames, commands)) {
        throw new Error(
          `seed ${seed}: decoded ${JSON.stringify(frames)}, sent ${JSON.stringify(commands)}`,
        );
      }
    }
  });

  test("a big command arriving one byte at a time is parsed once, not once per chunk", () => {
    // 20,000 arguments fed bytewise: re-parsing from the start each time would be ~10^10 steps.
    const args = Array.from({ length: 20_000 }, (_, i) => `a${i}`);
    const bytes = bytesOf(encodeArray(args));
    const decoder = new RespDecoder();
    let frame: string[] | undefined;
    let end = 0;
    for (let at = 1; at <= bytes.length && frame === undefined; at++) {
      const decoded = decoder.decode(bytes.subarray(0, at));
      if (decoded !== null) {
        frame = decoded.frame;
        end = decoded.length;
      }
    }
    expect(frame).toEqual(args);
    expect(end).toBe(bytes.length);
  });

  describe("protocol errors, with redis's messages", () => {
    test.each([
      ["*x\r\n", "invalid multibulk length"],
      ["*01\r\n", "invalid multibulk length"],
      ["*+1\r\n", "invalid multibulk length"],
      ["*1\ngarbage\r\n", "invalid multibulk length"],
      [`*${1024 * 1024 + 1}\r\n`, "invalid multibulk length"],
      ["*99999999999999999999\r\n", "invalid multibulk length"],
      ["*1\r\n+a\r\n", "expected '$', got '+'"],
      ["*2\r\n$1\r\na\r\n:1\r\n", "expected '$', got ':'"],
      ["*1\r\n$-1\r\n", "invalid bulk length"],
      ["*1\r\n$-3\r\n", "invalid bulk length"],
      ["*1\r\n$+4\r\nping\r\n", "invalid bulk length"],
      ["*1\r\n$4x\r\n", "invalid bulk length"],
      ["*1\r\n$\r\n", "invalid bulk length"],
      ["*1\r\n$4\nping\r\n", "invalid bulk length"],
      ["*1\r\n$999999999999\r\n", "invalid bulk length"],
      ["*1\r\n$4\r\npingxx\r\n", "expected CRLF after a bulk string"],
      ['SET "a b\r\n', "unbalanced quotes in request"],
      ['SET "ab"c d\r\n', "unbalanced quotes in request"],
      ["SET 'ab\r\n", "unbalanced quotes in request"],
    ])("%j → %s", (input, message) => {
      expect(protocolError(input)).toBe(message);
    });

    test("a bulk string over 512 MB is refused from its header alone, before any of it arrives", () => {
      const decoder = new RespDecoder();
      expect(() => decoder.decode(bytesOf(`*1\r\n$${MAX_BULK_LENGTH + 1}\r\n`))).toThrow(
        new ProtocolError("invalid bulk length"),
      );
      // Exactly the limit is allowed: the decoder waits for the bytes.
      expect(new RespDecoder().decode(bytesOf(`*1\r\n$${MAX_BULK_LENGTH}\r\n`))).toBeNull();
    });

    test("an inline line over 64 KiB with no end is refused; a length line at its 13th digit", () => {
      const long = "a".repeat(MAX_INLINE_LENGTH + 1);
      expect(protocolError(long)).toBe("too big inline request");
      expect(protocolError(`*${"1".repeat(13)}`)).toBe("invalid multibulk length");
      expect(protocolError(`*1\r\n$${"1".repeat(13)}`)).toBe("invalid bulk length");
      // Bad bytes in a length line are refused as soon as they arrive, not at its end.
      expect(protocolError("*1x")).toBe("invalid multibulk length");
      // Just under the limit it waits for the rest.
      expect(new RespDecoder().decode(bytesOf("a".repeat(MAX_INLINE_LENGTH)))).toBeNull();
    });

    test("random garbage: frames, waiting or a ProtocolError; never another error", () => {
      for (let seed = 1; seed <= 300; seed++) {
        const random = seededRandom(seed);
        const alphabet = "*$\r\n-+:0123456789 \"'\\xab";
        let text = "";
        for (let n = Math.floor(random() * 60); n > 0; n--) {
          text +=
            random() < 0.8
              ? (alphabet[Math.floor(random() * alphabet.length)] as string)
              : String.fromCharCode(Math.floor(random() * 256));
        }
        try {
          feed(new RespDecoder(), randomChunks(bytesOf(text), random));
        } catch (error) {
          if (!(error instanceof ProtocolError)) {
            throw new Error(`seed ${seed}, input ${JSON.stringify(text)}: ${error}`);
          }
        }
      }
    });
  });
});

describe("inline commands: splitInlineArgs (redis's sdssplitargs)", () => {
  test.each([
    ["a b  c", ["a", "b", "c"]],
    ["  ", []],
    ['SET "hello world" x', ["SET", "hello world", "x"]],
    ['"a\\x41\\n\\t\\"q"', ['aA\n\t"q']],
    ["'it\\'s' 'a\\nb'", ["it's", "a\\nb"]],
    ['""', [""]],
    ['"\\xzz"', ["xzz"]],
  ])("%j → %j", (line, args) => {
    expect(splitInlineArgs(line)).toEqual(args);
  });
});
