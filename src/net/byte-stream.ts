/**
 * `ByteStream`: what a connection handler needs of a stream, implemented by `SocketStream`
 * (TCP, TLS, unix) and by the in-memory streams of `memoryStreamPair()`, so a handler typed
 * with it runs over a socket in production and over memory in a test.
 */
import type { Decoder } from "./decoder.ts";
import type { ReceiveLineOptions } from "./receiver.ts";

export interface ByteStream extends AsyncDisposable, AsyncIterable<Uint8Array> {
  /** The peer, for logs and task names: `127.0.0.1:5000`, `unix:/path`, `memory:1/b`. */
  readonly peer: string;
  /** The peer's address (`memory` for an in-memory stream). */
  readonly remoteAddress: string;
  /** The largest frame read in one piece (default 1 MiB). */
  maxFrameLength: number;
  receive(maxBytes?: number): Promise<Uint8Array>;
  receiveExactly(n: number): Promise<Uint8Array>;
  receiveUntil(delimiter: Uint8Array | string, maxBytes?: number): Promise<Uint8Array>;
  receiveFrame<F>(decoder: Decoder<F>): Promise<F | undefined>;
  frames<F>(decoder: Decoder<F>): AsyncIterableIterator<F>;
  frameBatches<F>(decoder: Decoder<F>): AsyncIterableIterator<F[]>;
  receiveLine(options?: ReceiveLineOptions): Promise<string | undefined>;
  sendAll(data: Uint8Array | string): Promise<void>;
  sendEof(): Promise<void>;
  close(): Promise<void>;
}
