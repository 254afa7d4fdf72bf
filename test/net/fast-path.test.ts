/**
 * Reads that need not wait do not wait (issue 10.1): on buffered data, receive,
 * receiveExactly, receiveUntil, receiveFrame and receiveLine return an already-settled
 * promise (its callbacks run in the very next microtask turn), hand out views of the
 * received chunk instead of copies (small frames excepted: a copy costs less), and still
 * check for cancellation.
 */
import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  DelimiterDecoder,
  memoryStreamPair,
  run,
  withPool,
} from "../../src/index.ts";

/** True when `promise` has settled after one microtask turn: it was settled when made. */
async function settledAtOnce(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await null;
  return settled;
}

describe("reads on buffered data", () => {
  test("settle at once, without inner awaits", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      await a.sendAll("0123456789\nabc|def\nrest");
      expect(await settledAtOnce(b.receiveExactly(2))).toBe(true);
      expect(await settledAtOnce(b.receiveUntil("\n"))).toBe(true);
      expect(await settledAtOnce(b.receiveFrame(new DelimiterDecoder("|")))).toBe(true);
      expect(await settledAtOnce(b.receiveLine())).toBe(true);
      expect(await settledAtOnce(b.receive())).toBe(true);
    }));

  test("a read that must wait does not settle at once (the check above can fail)", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      await withPool(async (pool) => {
        const read = b.receiveExactly(2);
        expect(await settledAtOnce(read)).toBe(false);
        pool.spawn(() => a.sendAll("ab"));
        await read;
      });
    }));

  test("frames in one chunk are views of it, not copies", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      const long = "x".repeat(40);
      await a.sendAll(`aa|bb|cc\n${long}${long}\n${long}`);
      const decoder = new DelimiterDecoder("|");
      const first = (await b.receiveFrame(decoder)) as Uint8Array;
      const second = (await b.receiveFrame(decoder)) as Uint8Array;
      await b.receiveUntil("\n");
      const exact = await b.receiveExactly(40);
      const until = await b.receiveUntil("\n");
      const rest = await b.receiveExactly(40);
      expect(second.buffer).toBe(first.buffer);
      expect(exact.buffer).toBe(first.buffer);
      expect(until.buffer).toBe(first.buffer);
      expect(rest.buffer).toBe(first.buffer);
      expect(second.byteOffset).toBe(3);
    }));

  test("receiveExactly and receiveUntil copy frames of at most 32 bytes (cheaper than a view)", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      const chunk = "k".repeat(32) + "\r\n".repeat(2);
      await a.sendAll(chunk);
      const exact = await b.receiveExactly(32);
      const until = await b.receiveUntil("\r\n");
      const last = await b.receiveUntil("\r\n"); // the chunk's last bytes
      expect(new TextDecoder().decode(exact)).toBe("k".repeat(32));
      expect([...until]).toEqual([13, 10]);
      expect([...last]).toEqual([13, 10]);
      expect(exact.buffer).not.toBe(until.buffer);
      expect(exact.byteLength).toBe(exact.buffer.byteLength);
      expect(last.byteLength).toBe(last.buffer.byteLength);
    }));

  test("a frame across chunks is joined once, and later frames are views of the join", () =>
    run(async () => {
      const [a, b] = memoryStreamPair({ splitWrites: { seed: 5, maxChunk: 3 } });
      await a.sendAll("first-frame|second-frame|");
      const decoder = new DelimiterDecoder("|");
      const first = (await b.receiveFrame(decoder)) as Uint8Array;
      const second = (await b.receiveFrame(decoder)) as Uint8Array;
      expect(new TextDecoder().decode(first)).toBe("first-frame");
      expect(new TextDecoder().decode(second)).toBe("second-frame");
      expect(second.buffer).toBe(first.buffer);
    }));

  test("still cancellation points: a cancelled scope is refused, nothing consumed", () =>
    run(async () => {
      const [a, b] = memoryStreamPair();
      await a.sendAll("abc\n");
      await withPool(async (pool) => {
        pool.cancel();
        for (const read of [
          () => b.receiveExactly(1),
          () => b.receiveUntil("\n"),
          () => b.receiveFrame(new DelimiterDecoder("\n")),
          () => b.receiveLine(),
        ]) {
          await expect(read()).rejects.toBeInstanceOf(CancelledError);
        }
      });
      expect(await b.receiveLine()).toBe("abc");
    }));
});
