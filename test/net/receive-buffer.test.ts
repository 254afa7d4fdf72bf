import { describe, expect, test } from "bun:test";
import { ReceiveBuffer } from "../../src/net/receive-buffer.ts";
import { concat, pattern } from "./helpers.ts";

/** Splits `bytes` into chunks at random points (deterministic per seed). */
function randomSplit(bytes: Uint8Array, seed: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let x = seed;
  for (let at = 0; at < bytes.length; ) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = 1 + (x % 7);
    chunks.push(bytes.slice(at, at + n));
    at += n;
  }
  return chunks;
}

describe("ReceiveBuffer", () => {
  test("take hands out whole chunks without copying, and splits a chunk at max", () => {
    const buffer = new ReceiveBuffer();
    const a = new Uint8Array([1, 2, 3, 4]);
    const b = new Uint8Array([5, 6]);
    buffer.push(a);
    buffer.push(b);
    expect(buffer.size).toBe(6);
    const first = buffer.take(3);
    expect([...first]).toEqual([1, 2, 3]);
    expect(first.buffer).toBe(a.buffer);
    expect([...buffer.take(100)]).toEqual([4]);
    expect(buffer.take(100)).toBe(b);
    expect(buffer.size).toBe(0);
    expect(buffer.take(10).length).toBe(0);
  });

  test("takeExactly spans chunks and keeps the rest", () => {
    const buffer = new ReceiveBuffer();
    for (const chunk of [[1, 2], [3], [4, 5, 6]]) buffer.push(new Uint8Array(chunk));
    expect([...buffer.takeExactly(4)]).toEqual([1, 2, 3, 4]);
    expect(buffer.size).toBe(2);
    expect([...buffer.takeAll()]).toEqual([5, 6]);
  });

  test("indexOf finds delimiters inside and across chunks, from a start position", () => {
    const buffer = new ReceiveBuffer();
    for (const part of ["ab\r", "\ncd", "\r", "\n"]) buffer.push(new TextEncoder().encode(part));
    const crlf = new TextEncoder().encode("\r\n");
    expect(buffer.indexOf(crlf, 0)).toBe(2);
    expect(buffer.indexOf(crlf, 3)).toBe(6);
    expect(buffer.indexOf(crlf, 7)).toBe(-1);
    buffer.take(1);
    expect(buffer.indexOf(crlf, 0)).toBe(1);
    expect(buffer.indexOf(new TextEncoder().encode("\r\r"), 0)).toBe(-1);
  });

  test("indexOf agrees with a plain search, in one chunk (read from anywhere) and across several", () => {
    // Few distinct bytes, so that false leads and partial delimiters at the end are common.
    let x = 7;
    const next = (n: number) => {
      x = (x * 1103515245 + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    const search = (bytes: Uint8Array, needle: Uint8Array, from: number) => {
      outer: for (let at = from; at + needle.length <= bytes.length; at++) {
        for (let d = 0; d < needle.length; d++) if (bytes[at + d] !== needle[d]) continue outer;
        return at;
      }
      return -1;
    };
    for (let round = 0; round < 2000; round++) {
      const bytes = Uint8Array.from({ length: 1 + next(24) }, () => 97 + next(3));
      const needle = Uint8Array.from({ length: 1 + next(3) }, () => 97 + next(3));
      const buffer = new ReceiveBuffer();
      const chunks = round % 2 === 0 ? [bytes] : randomSplit(bytes, round);
      for (const chunk of chunks) buffer.push(chunk);
      const consumed = next(bytes.length);
      buffer.skip(consumed);
      const rest = bytes.subarray(consumed);
      const from = next(rest.length + 1);
      expect(buffer.indexOf(needle, from)).toBe(search(rest, needle, from));
    }
  });

  test("framing over random chunk splits gives back the exact messages", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const messages = Array.from({ length: 20 }, (_, i) =>
        pattern(1 + ((seed * 7 + i * 13) % 40), seed * 100 + i),
      );
      // Length-prefixed frames, then the same messages delimited by a 3-byte marker.
      const marker = new Uint8Array([0xfe, 0xff, 0xfe]);
      const clean = messages.map((m) => m.map((b) => (b >= 0xfe ? 0 : b)));
      const wire = concat([
        ...messages.flatMap((m) => [new Uint8Array([m.length]), m]),
        ...clean.flatMap((m) => [m, marker]),
      ]);
      const buffer = new ReceiveBuffer();
      for (const chunk of randomSplit(wire, seed)) buffer.push(chunk);
      for (const message of messages) {
        const length = buffer.takeExactly(1)[0] as number;
        expect(buffer.takeExactly(length)).toEqual(message);
      }
      for (const message of clean) {
        const end = buffer.indexOf(marker, 0);
        expect(end).toBe(message.length);
        expect(buffer.takeExactly(end + marker.length)).toEqual(concat([message, marker]));
      }
      expect(buffer.size).toBe(0);
    }
  });

  test("keeps order across compactions when the reader never quite catches up", () => {
    const buffer = new ReceiveBuffer();
    buffer.push(new Uint8Array([0]));
    for (let i = 1; i < 10_000; i++) {
      buffer.push(new Uint8Array([i & 255]));
      expect(buffer.take(1)[0]).toBe((i - 1) & 255);
    }
    expect(buffer.size).toBe(1);
    expect(buffer.take(1)[0]).toBe(9_999 & 255);
  });
});
