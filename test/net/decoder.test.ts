/**
 * The ready-made decoders on their own (pure functions of the bytes they are given), and the
 * decoder API over a real TCP stream: frames(), receiveFrame(), receiveLine(), maxFrameLength.
 */
import { describe, expect, test } from "bun:test";
import {
  checkpoint,
  type Decoder,
  DelimiterDecoder,
  FrameTooLongError,
  IncompleteReadError,
  LengthPrefixedDecoder,
  LinesDecoder,
  LineTooLongError,
  sleep,
  withPool,
} from "../../src/index.ts";
import { HELD_BYTES, READER_IDLE } from "../../src/net/transport-symbols.ts";
import { encode, text, withPair } from "./helpers.ts";

describe("LinesDecoder", () => {
  test("strips \\n and \\r\\n, returns null until a newline", () => {
    const lines = new LinesDecoder();
    expect(lines.decode(encode("abc"))).toBeNull();
    expect(lines.decode(encode("abc\r\nrest"))).toEqual({ frame: "abc", length: 5 });
    expect(lines.decode(encode("\nx"))).toEqual({ frame: "", length: 1 });
    expect(lines.decode(encode("é\n"))).toEqual({ frame: "é", length: 3 });
  });

  test("lines decode as TextDecoder does: malformed bytes replaced, a leading BOM dropped", () => {
    const lines = new LinesDecoder();
    const utf8 = new TextDecoder();
    const cases = [
      [0xef, 0xbb, 0xbf, 0x61], // BOM + "a"
      [0xef, 0xbb], // a BOM cut short
      [0x61, 0xef, 0xbb, 0xbf], // a BOM not at the start stays
      [0xc3], // truncated
      [0xe2, 0x82], // truncated
      [0xf0, 0x9f, 0x98], // truncated
      [0xc0, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // a surrogate
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0x80, 0xbf, 0x61, 0xff, 0xfe],
    ];
    for (const line of cases) {
      const bytes = new Uint8Array([...line, 0x0a]);
      const decoded = lines.decode(bytes) as { frame: string };
      expect(decoded.frame).toBe(utf8.decode(new Uint8Array(line)));
    }
  });

  test("a too-long line throws LineTooLongError, then the rest of it is dropped", () => {
    const lines = new LinesDecoder({ maxLength: 3 });
    expect(lines.decode(encode("abc\r"))).toBeNull(); // could still be "abc\r\n"
    expect(() => lines.decode(encode("abcd"))).toThrow(LineTooLongError);
    expect(lines.decode(encode("abcdef"))).toEqual({ drop: 6 });
    expect(lines.decode(encode("gh\nok\n"))).toEqual({ drop: 3 });
    expect(lines.decode(encode("ok\n"))).toEqual({ frame: "ok", length: 3 });
    expect(() => lines.decode(encode("long\n"))).toThrow(/maxLength \(3\)/);
  });

  test("bad options are TypeErrors or RangeErrors naming them", () => {
    expect(() => new LinesDecoder({ maxLength: -1 })).toThrow(RangeError);
    expect(() => new LinesDecoder({ maxLen: 1 } as never)).toThrow(/unknown option "maxLen"/);
    expect(() => new LinesDecoder([] as never)).toThrow(TypeError);
  });
});

describe("LengthPrefixedDecoder", () => {
  test("null is never a default: every option refuses it with a TypeError naming it", () => {
    for (const option of ["lengthBytes", "littleEndian", "lengthIncludesHeader", "maxLength"]) {
      expect(() => new LengthPrefixedDecoder({ [option]: null } as never)).toThrow(
        new RegExp(`new LengthPrefixedDecoder\\(\\{ ${option} \\}\\) .*got null`),
      );
      expect(() => new LengthPrefixedDecoder({ [option]: null } as never)).toThrow(TypeError);
    }
    expect(() => new LinesDecoder({ maxLength: null } as never)).toThrow(TypeError);
    expect(() => new DelimiterDecoder(",", { maxLength: null } as never)).toThrow(TypeError);
    expect(() => new LengthPrefixedDecoder({ lengthBytes: "4" } as never)).toThrow(TypeError);
    expect(() => new LengthPrefixedDecoder({ lengthBytes: 3 as never })).toThrow(RangeError);
  });

  test("1, 2 and 4-byte headers, both byte orders, header included or not", () => {
    const payload = encode("hey");
    const cases: [ConstructorParameters<typeof LengthPrefixedDecoder>[0], number[]][] = [
      [{ lengthBytes: 1 }, [3]],
      [{ lengthBytes: 2 }, [0, 3]],
      [{ lengthBytes: 2, littleEndian: true }, [3, 0]],
      [{}, [0, 0, 0, 3]],
      [{ littleEndian: true }, [3, 0, 0, 0]],
      [{ lengthBytes: 2, lengthIncludesHeader: true }, [0, 5]],
    ];
    for (const [options, header] of cases) {
      const decoder = new LengthPrefixedDecoder(options);
      const bytes = new Uint8Array([...header, ...payload, 9]);
      expect(decoder.decode(bytes.subarray(0, header.length + 2))).toBeNull();
      const result = decoder.decode(bytes);
      if (result === null) throw new Error("no frame");
      expect(result.length).toBe(header.length + 3);
      expect(text(result.frame)).toBe("hey");
      expect(result.frame.buffer).toBe(bytes.buffer); // a view, no copy
    }
  });

  test("a declared length over maxLength fails at once", () => {
    const decoder = new LengthPrefixedDecoder({ lengthBytes: 4, maxLength: 100 });
    expect(() => decoder.decode(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(
      FrameTooLongError,
    );
    expect(() => new LengthPrefixedDecoder({ lengthBytes: 3 as never })).toThrow(/1, 2 or 4/);
  });
});

describe("DelimiterDecoder", () => {
  test("frames without the delimiter, views of the input", () => {
    const decoder = new DelimiterDecoder("\r\n");
    const bytes = encode("a\rb\r\nc");
    const result = decoder.decode(bytes);
    expect(text(result?.frame as Uint8Array)).toBe("a\rb");
    expect(result?.length).toBe(5);
    expect(decoder.decode(encode("c\r"))).toBeNull();
    expect(() => new DelimiterDecoder("")).toThrow(/must not be empty/);
    expect(() => new DelimiterDecoder("|", { maxLength: 2 }).decode(encode("abcd"))).toThrow(
      FrameTooLongError,
    );
  });
});

describe("decoders on a stream", () => {
  test("frames() yields every frame and ends at EOF between frames", () =>
    withPair(async (client, server) => {
      await client.sendAll("one\r\ntwo\nthr");
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await client.sendAll("ee\n");
          await client.sendEof();
        });
        const got: string[] = [];
        for await (const line of server.frames(new LinesDecoder())) got.push(line);
        expect(got).toEqual(["one", "two", "three"]);
      });
    }));

  test("receiveLine: undefined at EOF between lines, IncompleteReadError inside one", () =>
    withPair(async (client, server) => {
      await client.sendAll("a\nb");
      await client.sendEof();
      expect(await server.receiveLine()).toBe("a");
      const error = await server.receiveLine().catch((e) => e);
      expect(error).toBeInstanceOf(IncompleteReadError);
      expect(error.message).toStartWith("receiveLine() on SocketStream(");
      expect(error.message).toContain("the peer stopped sending after 1 bytes of a line");
      expect(text(error.partial)).toBe("b");
      expect(await server.receiveLine()).toBeUndefined();
    }));

  test("errors name the call made: frames() at EOF inside a frame, receiveLine() after close()", () =>
    withPair(async (client, server) => {
      await client.sendAll("a|b");
      await client.sendEof();
      const got: string[] = [];
      const error = await (async () => {
        for await (const frame of server.frames(new DelimiterDecoder("|"))) got.push(text(frame));
      })().catch((e) => e);
      expect(got).toEqual(["a"]);
      expect(error).toBeInstanceOf(IncompleteReadError);
      expect(error.message).toStartWith("frames() on SocketStream(");
      await server.close();
      const closed = await server.receiveLine().catch((e) => e);
      expect(closed.message).toStartWith("receiveLine() on SocketStream(");
    }));

  test("a too-long line leaves the stream usable", () =>
    withPair(async (client, server) => {
      await client.sendAll(`${"x".repeat(100)}\nnext\n`);
      await expect(server.receiveLine({ maxLength: 10 })).rejects.toBeInstanceOf(LineTooLongError);
      expect(await server.receiveLine({ maxLength: 10 })).toBe("next");
    }));

  test("more than maxFrameLength without a frame is a FrameTooLongError, bytes kept", () =>
    withPair(async (client, server) => {
      server.maxFrameLength = 1000;
      await client.sendAll(new Uint8Array(3000).fill(65));
      const error = await server.receiveFrame(new DelimiterDecoder("|")).catch((e) => e);
      expect(error).toBeInstanceOf(FrameTooLongError);
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toContain("maxFrameLength (1000)");
      expect((await server.receiveExactly(1000)).length).toBe(1000);
    }));

  test("a frame longer than the high-water mark arrives (the mark is raised up to the limit)", () =>
    withPair(async (client, server) => {
      const big = new Uint8Array(300_000).fill(7);
      const header = new Uint8Array([0, 4, 147, 224]); // 300000, big-endian
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await client.sendAll(header);
          await client.sendAll(big);
        });
        const frame = await server.receiveFrame(new LengthPrefixedDecoder());
        expect(frame?.length).toBe(300_000);
      });
    }));

  test("maxFrameLength is validated", () =>
    withPair(async (_client, server) => {
      expect(server.maxFrameLength).toBe(1 << 20);
      expect(() => {
        server.maxFrameLength = 0;
      }).toThrow(RangeError);
      expect(() => {
        server.maxFrameLength = "1" as never;
      }).toThrow(/maxFrameLength must be an integer >= 1, got "1"/);
    }));

  test("a decoder's error rejects the read and consumes nothing; a bad length is a TypeError", () =>
    withPair(async (client, server) => {
      await client.sendAll("abc");
      await server.receiveExactly(0);
      const throwing: Decoder<never> = {
        decode() {
          throw new Error("bad frame");
        },
      };
      await expect(server.receiveFrame(throwing)).rejects.toThrow("bad frame");
      const lying: Decoder<number> = { decode: () => ({ frame: 1, length: 99 }) };
      await expect(server.receiveFrame(lying)).rejects.toThrow(/length 99/);
      expect(text(await server.receiveExactly(3))).toBe("abc");
      await expect(server.receiveFrame({} as never)).rejects.toThrow(TypeError);
    }));

  test("readerIdle: a reader parked with nothing buffered, not one in the middle of a frame", () =>
    withPair(async (client, server) => {
      expect(server[READER_IDLE]).toBe(false); // nobody reads
      await withPool(async (pool) => {
        pool.spawn(() => server.receiveLine());
        await checkpoint();
        expect(server[READER_IDLE]).toBe(true);
        await client.sendAll("par");
        while (server[HELD_BYTES] < 3) await sleep(1);
        expect(server[READER_IDLE]).toBe(false); // part of a line is buffered
        await client.sendAll("t\n");
      });
    }));
});
