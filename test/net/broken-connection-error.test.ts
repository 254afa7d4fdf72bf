/**
 * The error a socket stream raises once its connection broke (`BrokenConnectionError`, a
 * `BrokenResourceError`): its message and stack are made when read, and must read, print,
 * and be assigned exactly as those of any error made with its message.
 */
import { describe, expect, test } from "bun:test";
import { inspect } from "node:util";
import { BrokenResourceError, GiambioError } from "../../src/index.ts";
import { BrokenConnectionError, isPeerErrorOf, withoutStack } from "../../src/net/peer-errors.ts";

const stream = { peer: "127.0.0.1:4567" };
const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
const RESET_MESSAGE =
  "the connection to 127.0.0.1:4567 is broken: connection reset by peer (ECONNRESET)";

/** As the stream makes it for a parked task: without frames. */
const stackless = (cause: Error | null, lost = 0) =>
  withoutStack(() => new BrokenConnectionError(stream, cause, lost));

describe("BrokenConnectionError", () => {
  test("its message names the peer, why, and the queued bytes lost", () => {
    expect(stackless(reset).message).toBe(RESET_MESSAGE);
    const pipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    expect(stackless(pipe).message).toBe(
      "the connection to 127.0.0.1:4567 is broken: the peer is gone (EPIPE)",
    );
    expect(stackless(new Error("TLS handshake failed")).message).toBe(
      "the connection to 127.0.0.1:4567 is broken: TLS handshake failed",
    );
    expect(stackless(null, 300).message).toBe(
      "the connection to 127.0.0.1:4567 is broken: the connection was closed; 300 bytes that earlier sendAll() calls queued were not delivered to the kernel",
    );
  });

  test("it is a BrokenResourceError named so, its cause what broke the connection", () => {
    const error = stackless(reset);
    expect(error).toBeInstanceOf(BrokenResourceError);
    expect(error).toBeInstanceOf(GiambioError);
    expect(error.name).toBe("BrokenResourceError");
    expect(error.cause).toBe(reset);
    expect(String(error)).toBe(`BrokenResourceError: ${RESET_MESSAGE}`);
    // Nothing of the stream shows: logging the error must not print the whole stream.
    expect(Object.keys(error)).toEqual([]);
    expect(Bun.inspect(error)).toStartWith(`BrokenResourceError: ${RESET_MESSAGE}`);
    expect(inspect(error)).toStartWith(`[BrokenResourceError: ${RESET_MESSAGE}]`);
    expect(error.constructor.name).toBe("BrokenResourceError");
  });

  test("without frames its stack is its first line; with frames, that line then the frames", () => {
    expect(stackless(reset).stack).toBe(`BrokenResourceError: ${RESET_MESSAGE}`);
    const withFrames = new BrokenConnectionError(stream, reset, 0);
    const [first, ...frames] = (withFrames.stack as string).split("\n");
    expect(first).toBe(`BrokenResourceError: ${RESET_MESSAGE}`);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames[0]).toContain("broken-connection-error.test.ts");
  });

  test("message and stack can be assigned, as on any error", () => {
    const error = stackless(reset);
    error.message = `while saving: ${error.message}`;
    expect(error.message).toBe(`while saving: ${RESET_MESSAGE}`);
    expect(String(error)).toBe(`BrokenResourceError: while saving: ${RESET_MESSAGE}`);
    error.stack = "custom stack";
    expect(error.stack).toBe("custom stack");
    expect(Object.keys(error)).toEqual([]);
  });

  test("it counts as a peer error of its own stream only", () => {
    const error = stackless(reset);
    expect(isPeerErrorOf(error, stream)).toBe(true);
    expect(isPeerErrorOf(error, { peer: "127.0.0.1:4567" })).toBe(false);
    // Another stream's BrokenResourceError, or one made by the user, is not.
    expect(isPeerErrorOf(new BrokenResourceError(RESET_MESSAGE), stream)).toBe(false);
  });
});
