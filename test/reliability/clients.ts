/**
 * Client-side pieces of the reliability tests: random payloads and a byte-exact echo exchange
 * over one connection.
 */
import { type SocketStream, withPool } from "../../src/index.ts";
import { readAll } from "../net/helpers.ts";

/** `n` random bytes from `random`. */
export function randomBytes(random: () => number, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/**
 * Sends `payload` in 1 to 4 random pieces, then EOF, while reading the echo to the server's
 * EOF in another task; throws unless what came back is `payload`, byte for byte.
 */
export async function exchangeEcho(
  stream: SocketStream,
  payload: Uint8Array,
  random: () => number,
): Promise<void> {
  const echoed = await withPool(async (pool) => {
    pool.spawn(async () => {
      const pieces = 1 + Math.floor(random() * 4);
      let at = 0;
      for (let i = 1; i <= pieces; i++) {
        const end = i === pieces ? payload.length : Math.floor((payload.length * i) / pieces);
        await stream.sendAll(payload.subarray(at, end));
        at = end;
      }
      await stream.sendEof();
    });
    return readAll(stream);
  });
  if (Buffer.compare(echoed, payload) !== 0) {
    throw new Error(
      `${stream}: echo differs: sent ${payload.length} bytes, got ${echoed.length} back`,
    );
  }
}
