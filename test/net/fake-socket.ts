/**
 * Just enough of a Bun socket for a `SocketStream`'s sending side, to check the write path
 * exactly: it records every `write` (and `<FIN>`/`<CLOSE>`), takes only `capacity` bytes, and
 * fails every write (returns -1) once `gone` is set, as Bun's do for a dead peer.
 */
import { openSocketStream, SocketStream } from "../../src/net/stream.ts";
import { SOCKET_CALLBACKS } from "../../src/net/transport-symbols.ts";
import { RecordingWriter } from "./recording-writer.ts";

export class FakeSocket extends RecordingWriter {
  remoteAddress = "127.0.0.1";
  remotePort = 1;
  localPort = 2;
  data: SocketStream | undefined;

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
