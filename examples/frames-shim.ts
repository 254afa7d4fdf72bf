// TEMPORARY: stands in for stream.frames(decoder) until the stream branch lands (frames-ready).
import type { SocketStream } from "../src/index.ts";

interface Decoded<F> {
  frame: F;
  length: number;
}
export async function* frames<F>(
  stream: SocketStream,
  decoder: { decode(bytes: Uint8Array): Decoded<F> | null },
): AsyncGenerator<F> {
  let buffered = new Uint8Array(0);
  for (;;) {
    for (;;) {
      const decoded = decoder.decode(buffered);
      if (decoded === null) break;
      buffered = buffered.subarray(decoded.length);
      yield decoded.frame;
    }
    const chunk = await stream.receive();
    if (chunk.length === 0) return;
    const joined = new Uint8Array(buffered.length + chunk.length);
    joined.set(buffered);
    joined.set(chunk, buffered.length);
    buffered = joined;
  }
}
