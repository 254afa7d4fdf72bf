/**
 * Receive backpressure holds while a handler iterates `frames()`: a socket whose reader is
 * slower than its peer is paused once more than RECEIVE_HIGH_WATER_MARK bytes sit unread and
 * resumed once the reader has taken them down to half, so the bytes buffered stay bounded.
 * The socket is a fake that records pause/resume; the test plays the kernel, delivering a
 * chunk only while the socket is not paused.
 */
import { expect, test } from "bun:test";
import {
  checkpoint,
  LinesDecoder,
  RECEIVE_HIGH_WATER_MARK,
  run,
  withPool,
} from "../../src/index.ts";
import { openSocketStream, SocketStream } from "../../src/net/stream.ts";
import { SOCKET_CALLBACKS } from "../../src/net/transport-symbols.ts";
import { FakeSocket } from "./fake-socket.ts";

class PausableSocket extends FakeSocket {
  paused = false;
  pauses = 0;
  override pause(): void {
    this.paused = true;
    this.pauses++;
  }
  override resume(): void {
    this.paused = false;
  }
}

test("frames(): a slow reader pauses the socket; unread bytes stay under the mark plus a chunk", () =>
  run(async () => {
    const socket = new PausableSocket();
    const stream = openSocketStream(socket as never, null);
    socket.data = stream;
    const line = `${"x".repeat(99)}\n`; // 100 bytes a frame
    const chunk = new TextEncoder().encode(line.repeat(80)); // 8000 bytes a delivery
    const deliveries = 200; // 1.6 MB in all, 25 times the mark
    let delivered = 0;
    let consumed = 0;
    let mostUnread = 0;
    await withPool(async (pool) => {
      pool.spawn(async () => {
        // The kernel: a chunk whenever the socket reads, as fast as the loop turns.
        while (delivered < deliveries) {
          if (!socket.paused) {
            SocketStream[SOCKET_CALLBACKS].data(socket as never, chunk.slice() as never);
            delivered++;
            mostUnread = Math.max(mostUnread, delivered * chunk.length - consumed);
          }
          await checkpoint();
        }
        SocketStream[SOCKET_CALLBACKS].end(socket as never);
      });
      let frames = 0;
      let wrong = 0;
      for await (const frame of stream.frames(new LinesDecoder())) {
        if (frame.length !== 99) wrong++;
        consumed += line.length;
        // A slow handler: a few checkpoints per frame, so the kernel side runs ahead.
        if (++frames % 4 === 0) for (let i = 0; i < 8; i++) await checkpoint();
      }
      expect(frames).toBe(deliveries * 80);
      expect(wrong).toBe(0);
    });
    expect(socket.pauses).toBeGreaterThan(0); // the reader fell behind, and the socket paused
    expect(mostUnread).toBeLessThanOrEqual(RECEIVE_HIGH_WATER_MARK + chunk.length);
  }));
