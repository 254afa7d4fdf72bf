/**
 * The argument of `sendAll`, checked and as bytes: shared by every stream so that they
 * accept and refuse the same things.
 */
import { isInstance } from "../arguments.ts";
import { describe } from "../errors.ts";

const encoder = new TextEncoder();

/** `data` as bytes (a string is UTF-8 encoded); throws a `TypeError` for anything else. */
export function sendData(data: unknown): Uint8Array {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  // isInstance: a Proxy whose prototype trap throws gets this TypeError, not its own error.
  if (!isInstance(bytes, Uint8Array)) {
    throw new TypeError(`sendAll(data) must be a Uint8Array or a string, got ${describe(data)}`);
  }
  // A view over a transferred (detached) buffer reads as empty: refuse it rather than send
  // nothing and report success.
  if (bytes.length === 0 && (bytes.buffer as { detached?: boolean }).detached === true) {
    throw new TypeError(
      "sendAll(data) got a Uint8Array whose ArrayBuffer is detached (transferred or resized away): there are no bytes to send",
    );
  }
  return bytes;
}
