/**
 * `listen({ proxyProtocol })`: each connection first goes through a `HeaderReader`, which
 * checks that the peer may send a header (`trusted`), reads the PROXY header within the
 * timeout, and only then makes the `SocketStream` (reporting the client the header names)
 * and hands it to the listener. A connection whose header is missing, malformed, too slow or
 * from an untrusted peer is closed and counted; no handler ever sees it.
 *
 * TLS comes after the header, in plaintext before the handshake, so such a listener binds
 * plain TCP and starts TLS itself once the header is read (`tls-after-header.ts`).
 */
import type { Socket, TLSOptions } from "bun";
import { type AddressRange, inRange, parseIp } from "./address-ranges.ts";
import { formatAddress } from "./endpoint.ts";
import type { PreAcceptDeadlines } from "./pre-accept-deadlines.ts";
import type { ProxyPlan } from "./proxy-options.ts";
import { type ProxyHeader, parseProxyHeader } from "./proxy-protocol.ts";
import { openSocketStream, SocketStream } from "./stream.ts";
import { TlsAfterHeader } from "./tls-after-header.ts";
import { SOCKET_CALLBACKS } from "./transport-symbols.ts";

/** The biggest header: v2's 16 bytes plus a 16-bit length. */
const MAX_HEADER = 16 + 0xffff;

/** What a header reader needs from its listener. */
export interface HeaderReaderContext {
  readonly plan: ProxyPlan;
  readonly tls: TLSOptions | undefined;
  readonly unixPath: string | null;
  /** The connection is ready: hand the stream over. */
  arrived(stream: SocketStream): void;
  /** A connection was closed for its header (or its peer); count it. */
  rejected(): void;
  /** A connection's TLS handshake (after its header) failed or ran out of time; count it. */
  handshakeFailed(): void;
  /** The connections still reading their header, under `proxyProtocol.timeout`. */
  readonly headerDeadlines: PreAcceptDeadlines<HeaderReader>;
  /** The connections in their TLS handshake after the header, under `handshakeTimeout`. */
  readonly handshakeDeadlines: PreAcceptDeadlines<HeaderReader>;
}

/** A connection before its header: collects bytes until `parseProxyHeader` has one. */
export class HeaderReader {
  readonly #socket: Socket<unknown>;
  readonly #context: HeaderReaderContext;
  #buffered: Uint8Array = new Uint8Array(0);
  #done = false;
  #handshakeFailedOnce = false;
  /** After a TLS header: the TLS session that now owns the socket's bytes. */
  #tls: TlsAfterHeader | null = null;
  /** The real peer, captured at open: Bun reports undefined once the peer has gone. */
  readonly #realAddress: string;
  readonly #realPort: number;

  constructor(socket: Socket<unknown>, context: HeaderReaderContext) {
    this.#socket = socket;
    this.#context = context;
    // (Even at open, Bun has none for a peer that is already gone.)
    this.#realAddress = socket.remoteAddress ?? "";
    this.#realPort = socket.remotePort ?? 0;
    const { trusted } = context.plan;
    if (
      trusted !== null &&
      context.unixPath === null &&
      !isTrusted(socket.remoteAddress, trusted)
    ) {
      this.#reject();
      return;
    }
    context.headerDeadlines.add(this);
  }

  /** Bytes from the socket: header bytes, then (TLS) ciphertext for the TLS session. */
  receive(chunk: Uint8Array): void {
    if (this.#tls !== null) {
      this.#tls.receive(chunk);
      return;
    }
    if (this.#done) return;
    const bytes = this.#buffered.length === 0 ? chunk : concat(this.#buffered, chunk);
    let header: ProxyHeader | null;
    try {
      header = parseProxyHeader(bytes);
    } catch {
      this.#reject();
      return;
    }
    if (header === null) {
      if (bytes.length > MAX_HEADER) this.#reject();
      else this.#buffered = bytes.slice();
      return;
    }
    this.#done = true;
    this.#context.headerDeadlines.delete(this);
    this.#buffered = new Uint8Array(0);
    this.#accept(header, bytes.subarray(header.length));
  }

  drained(): void {
    this.#tls?.rawDrained();
  }

  /** The peer half-closed: before a whole header that is a missing header. */
  ended(): void {
    if (this.#tls !== null) this.#tls.rawEnded();
    else this.#reject();
  }

  closed(): void {
    this.#done = true;
    this.#forget();
    this.#tls?.rawClosed();
  }

  /**
   * The listener was closed before this connection reached it: close it, as a closed
   * listener closes the connections nobody accepted (not counted as a header error).
   */
  abandon(): void {
    this.#done = true;
    this.#forget();
    this.#socket.terminate();
  }

  /** `proxyProtocol.timeout` passed before a whole header came. */
  headerTimedOut(): void {
    this.#reject();
  }

  /** `handshakeTimeout` passed before the TLS handshake after the header succeeded. */
  handshakeTimedOut(): void {
    this.#handshakeFailed();
  }

  #handshakeFailed(): void {
    if (this.#tls === null || this.#tls.secure || this.#handshakeFailedOnce) return;
    this.#handshakeFailedOnce = true; // counted once: the timeout and the TLS error may both come
    this.#forget();
    this.#context.handshakeFailed();
    this.#tls.terminate();
  }

  #forget(): void {
    this.#context.headerDeadlines.delete(this);
    this.#context.handshakeDeadlines.delete(this);
  }

  #accept(header: ProxyHeader, rest: Uint8Array): void {
    const proxied =
      header.kind === "local"
        ? this.#context.unixPath === null
          ? {
              address: this.#realAddress,
              port: this.#realPort,
              peer: formatAddress(this.#realAddress, this.#realPort),
            }
          : undefined
        : {
            address: header.source.address,
            port: header.source.port,
            peer:
              header.family === "unix"
                ? `unix:${header.source.address}`
                : formatAddress(header.source.address, header.source.port),
          };
    const { tls, unixPath } = this.#context;
    if (tls !== undefined) {
      this.#context.handshakeDeadlines.add(this);
      this.#tls = new TlsAfterHeader(
        this.#socket,
        tls,
        (socket) => {
          const stream = openSocketStream(socket, unixPath, proxied);
          socket.data = stream;
          this.#context.handshakeDeadlines.delete(this);
          this.#context.arrived(stream);
        },
        () => this.#handshakeFailed(),
      );
      if (rest.length > 0) this.#tls.receive(rest);
      return;
    }
    const stream = openSocketStream(this.#socket as Socket<SocketStream>, unixPath, proxied);
    this.#socket.data = stream;
    if (rest.length > 0)
      SocketStream[SOCKET_CALLBACKS].data(
        this.#socket as Socket<SocketStream>,
        rest as Uint8Array<ArrayBuffer>,
      );
    this.#context.arrived(stream);
  }

  #reject(): void {
    if (this.#done) return;
    this.#done = true;
    this.#forget();
    this.#context.rejected();
    this.#socket.terminate();
  }
}

function isTrusted(address: string, trusted: readonly AddressRange[]): boolean {
  const bytes = parseIp(address);
  return bytes !== null && trusted.some((range) => inRange(bytes, range));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

type Callbacks = (typeof SocketStream)[typeof SOCKET_CALLBACKS];

/**
 * @internal The stream callbacks of a PROXY listener: while `socket.data` is a
 * `HeaderReader` the bytes go to it, afterwards to the stream as on any listener.
 */
export const proxyCallbacks: Callbacks = {
  data: (socket, chunk) => {
    const data: unknown = socket.data;
    if (data instanceof HeaderReader) data.receive(chunk);
    else SocketStream[SOCKET_CALLBACKS].data(socket, chunk);
  },
  drain: (socket) => {
    const data: unknown = socket.data;
    if (data instanceof HeaderReader) data.drained();
    else SocketStream[SOCKET_CALLBACKS].drain(socket);
  },
  end: (socket) => {
    const data: unknown = socket.data;
    if (data instanceof HeaderReader) data.ended();
    else SocketStream[SOCKET_CALLBACKS].end(socket);
  },
  close: (socket, error) => {
    const data: unknown = socket.data;
    if (data instanceof HeaderReader) data.closed();
    else SocketStream[SOCKET_CALLBACKS].close(socket, error);
  },
  error: (socket, error) => {
    const data: unknown = socket.data;
    if (!(data instanceof HeaderReader)) SocketStream[SOCKET_CALLBACKS].error(socket, error);
  },
};
