/**
 * The outbox and its coalescing policy on their own, over a minimal `Writer` (no socket, no
 * loop): iterations are plain numbers.
 */
import { describe, expect, test } from "bun:test";
import { COALESCE_LIMIT, Outbox, Written } from "../../src/net/outbox.ts";
import { RecordingWriter } from "./recording-writer.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

function setup() {
  const writer = new RecordingWriter();
  return { writer, outbox: new Outbox() };
}

describe("Outbox", () => {
  test("writes at once until a second send in one iteration, then defers to its end", () => {
    const { writer, outbox } = setup();
    expect(outbox.send(writer, bytes("a"), 1)).toBe(Written.Done);
    expect(writer.writes).toEqual(["a"]);
    expect(outbox.send(writer, bytes("b"), 1)).toBe(Written.Deferred); // the caller must register
    expect(outbox.send(writer, bytes("c"), 1)).toBe(Written.Done); // already registered
    expect(outbox.isDeferred()).toBe(true);
    expect(outbox.size()).toBe(2);
    expect(outbox.atIterationEnd(writer)).toBe(Written.Done);
    expect(writer.writes).toEqual(["a", "bc"]);
    expect(outbox.size()).toBe(0);
  });

  test("eight flushes of a single write in a row go back to writing at once", () => {
    const { writer, outbox } = setup();
    outbox.send(writer, bytes("a"), 1);
    outbox.send(writer, bytes("b"), 1);
    outbox.atIterationEnd(writer); // the first flush of a single write ("b")
    for (let i = 2; i < 9; i++) {
      expect(outbox.send(writer, bytes(String(i)), i)).toBe(Written.Deferred);
      outbox.atIterationEnd(writer);
    }
    expect(outbox.send(writer, bytes("direct"), 9)).toBe(Written.Done);
    expect(writer.writes.at(-1)).toBe("direct");
  });

  test("outside the loop's steps (iteration -1) every send is written at once", () => {
    const { writer, outbox } = setup();
    outbox.send(writer, bytes("a"), -1);
    outbox.send(writer, bytes("b"), -1);
    expect(writer.writes).toEqual(["a", "b"]);
  });

  test("a send that would pass the limit flushes everything at once, in order", () => {
    const { writer, outbox } = setup();
    outbox.send(writer, bytes("a"), 1);
    outbox.send(writer, bytes("b"), 1);
    const big = "x".repeat(COALESCE_LIMIT);
    expect(outbox.send(writer, bytes(big), 1)).toBe(Written.Done);
    expect(writer.writes).toEqual(["a", `b${big}`]);
    expect(outbox.isDeferred()).toBe(false);
  });

  test("a partial write keeps the rest for drain; later sends join it", () => {
    const { writer, outbox } = setup();
    writer.capacity = 2;
    expect(outbox.send(writer, bytes("abcd"), -1)).toBe(Written.Pending);
    expect(outbox.isWaitingForDrain()).toBe(true);
    expect(outbox.send(writer, bytes("ef"), -1)).toBe(Written.Pending); // not written: waits behind
    expect(writer.writes).toEqual(["ab"]);
    writer.capacity = Number.POSITIVE_INFINITY;
    expect(outbox.flush(writer)).toBe(Written.Done);
    expect(writer.writes).toEqual(["ab", "cdef"]);
  });

  test("a refused write reports Failed and keeps the bytes until cleared", () => {
    const { writer, outbox } = setup();
    outbox.send(writer, bytes("a"), 1);
    outbox.send(writer, bytes("bc"), 1);
    writer.gone = true;
    expect(outbox.atIterationEnd(writer)).toBe(Written.Failed);
    expect(outbox.size()).toBe(2);
    expect(outbox.clear()).toBe(2);
    expect(outbox.size()).toBe(0);
    expect(outbox.send(writer, bytes("d"), -1)).toBe(Written.Failed);
  });

  test("the rest of a coalesced flush the socket took only part of survives other outboxes' flushes", () => {
    // Coalesced chunks are joined in a buffer every outbox shares; what the socket did not
    // take must be the outbox's own copy, not a view of that buffer.
    const first = setup();
    first.outbox.send(first.writer, bytes("ab"), 1);
    first.outbox.send(first.writer, bytes("cd"), 1);
    first.outbox.send(first.writer, bytes("ef"), 1);
    first.writer.capacity = 1;
    expect(first.outbox.atIterationEnd(first.writer)).toBe(Written.Pending);
    const second = setup();
    second.outbox.send(second.writer, bytes("xy"), 1);
    second.outbox.send(second.writer, bytes("zw"), 1);
    second.outbox.send(second.writer, bytes("uv"), 1);
    expect(second.outbox.atIterationEnd(second.writer)).toBe(Written.Done);
    expect(second.writer.writes).toEqual(["xy", "zwuv"]);
    first.writer.capacity = Number.POSITIVE_INFINITY;
    expect(first.outbox.flush(first.writer)).toBe(Written.Done);
    expect(first.writer.writes).toEqual(["ab", "c", "def"]);
  });
  test("a coalesced flush joins small and large chunks (and views) in order, byte for byte", () => {
    // Chunks up to 16 bytes are copied by hand, larger ones with `set`: mix both, and views.
    const { writer, outbox } = setup();
    const parts = ["+OK\r\n", "x".repeat(16), "y".repeat(17), "", "$3\r\nabc\r\n", "z".repeat(300)];
    const backing = bytes(`--${parts.join("")}--`);
    let offset = 2;
    const views = parts
      .filter((part) => part !== "")
      .map((part) => {
        const view = backing.subarray(offset, offset + part.length);
        offset += part.length;
        return view;
      });
    expect(outbox.send(writer, bytes("first"), 1)).toBe(Written.Done);
    expect(outbox.send(writer, views[0] as Uint8Array, 1)).toBe(Written.Deferred);
    for (const view of views.slice(1)) expect(outbox.send(writer, view, 1)).toBe(Written.Done);
    expect(outbox.atIterationEnd(writer)).toBe(Written.Done);
    expect(writer.writes).toEqual(["first", parts.join("")]);
  });
});
