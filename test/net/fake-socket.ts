/**
 * Just enough of a Bun socket for a `SocketStream`'s sending side, to check the write path
 * exactly: it records every `write` (and `<FIN>`/`<CLOSE>`), takes only `capacity` bytes, and
 * fails every write (returns -1) once `gone` is set, as Bun's do for a dead peer.
 */
import { openSocketStream, SocketStream } from "../../src/net/stream.ts";
import { SOCKET_CALLBACKS } from "../../src/net/transport-symbols.ts";

export class FakeSocket {
  readonly writes: string[] = [];
  remoteAddress = "127.0.0.1";
  remotePort = 1;
  localPort = 2;
  /** How many bytes the next writes take (Infinity: all). */
  capacity = Number.POSITIVE_INFINITY;
  /** The peer is gone: every write returns -1. */
  gone = false;
  data: SocketStream | undefined;

  /** Like Bun's: writes `bytes[byteOffset, byteOffset + byteLength)`. */
  write(bytes: Uint8Array, byteOffset = 0, byteLength = bytes.length - byteOffset): number {
    if (this.gone) return -1;
    const taken = Math.min(byteLength, this.capacity);
    this.capacity -= taken;
    if (taken > 0) {
      this.writes.push(new TextDecoder().decode(bytes.subarray(byteOffset, byteOffset + taken)));
    }
    return taken;
  }

  /** Bun's drain callback: the socket can take more. */
  drain(capacity = Number.POSITIVE_INFINITY): void {
    this.capacity = capacity;
    SocketStream[SOCKET_CALLBACKS].drain(this as never);
  }

  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  shutdown(): void {
    this.writes.push("<FIN>");
  }
  close(): void {
    this.writes.push("<CLOSE>");
  }
  terminate(): void {}
}

/** A `SocketStream` over a fresh `FakeSocket`. */
export function fakeStream(): { socket: FakeSocket; stream: SocketStream } {
  const socket = new FakeSocket();
  const stream = openSocketStream(socket as never, null);
  socket.data = stream;
  return { socket, stream };
}
