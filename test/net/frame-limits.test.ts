/**
 * Peer-chosen lengths cannot make a stream buffer without bound (issue 13.6): lengths above
 * `maxFrameLength` are refused before anything is read, and bad arguments say what is wrong.
 */
import { expect, test } from "bun:test";
import { memoryStreamPair, run, withPool } from "../../src/index.ts";

test("receiveExactly and receiveUntil refuse lengths above maxFrameLength", () =>
  run(async () => {
    const [a, b] = memoryStreamPair();
    const huge = await b.receiveExactly(2 ** 53).catch((e) => e);
    expect(huge).toBeInstanceOf(RangeError);
    expect(huge.message).toContain("receiveExactly(n)");
    expect(huge.message).toContain(String(2 ** 53));
    expect(huge.message).toContain("maxFrameLength (1048576)");
    expect(huge.message).toContain("raise stream.maxFrameLength");
    const until = await b.receiveUntil("\n", 2 ** 53).catch((e) => e);
    expect(until).toBeInstanceOf(RangeError);
    expect(until.message).toContain("receiveUntil(delimiter, maxBytes)");
    b.maxFrameLength = 2 ** 21;
    await withPool(async (pool) => {
      pool.spawn(() => a.sendAll(new Uint8Array(2 ** 21)));
      expect((await b.receiveExactly(2 ** 21)).length).toBe(2 ** 21);
    });
    b.maxFrameLength = 10;
    await expect(b.receiveExactly(11)).rejects.toThrow(/maxFrameLength \(10\)/);
    // The default maxBytes of receiveUntil follows a lower limit instead of failing.
    await a.sendAll("0123456789abc\n");
    await expect(b.receiveUntil("\n")).rejects.toThrow(/within the first 10 bytes/);
  }));

test("an empty delimiter is called empty", () =>
  run(async () => {
    const [, b] = memoryStreamPair();
    await expect(b.receiveUntil(new Uint8Array(0))).rejects.toThrow(
      "receiveUntil(delimiter) must not be empty, got an empty Uint8Array",
    );
    await expect(b.receiveUntil("")).rejects.toThrow(/must not be empty, got an empty string/);
    await expect(b.receiveUntil(5 as never)).rejects.toThrow(TypeError);
  }));

test("sendAll of a view over a detached buffer rejects instead of sending nothing", () =>
  run(async () => {
    const [a] = memoryStreamPair();
    const buffer = new ArrayBuffer(8);
    const view = new Uint8Array(buffer);
    buffer.transfer();
    await expect(a.sendAll(view)).rejects.toThrow(/detached/);
    await a.sendAll(new Uint8Array(0)); // an ordinary empty array is fine
  }));
