/**
 * TLS on a connection that began in plaintext (a PROXY header, then the TLS handshake).
 *
 * Bun's `socket.upgradeTLS` cannot be used: the client's first TLS bytes often arrive in the
 * same read as the header, and an upgraded socket only decrypts what the kernel delivers
 * after the upgrade, so those bytes would be lost. Node's `TLSSocket` (which Bun implements)
 * runs over any duplex stream, so the bytes after the header are fed to it from here. The
 * object stands in for a Bun socket towards `SocketStream`: the same `write` (returns the
 * bytes taken, 0 while a write waits for `drain`, -1 when closed), `close`, `shutdown`,
 * `terminate`, `pause`, `resume`, and the same callbacks.
 *
 * Slower than Bun's native TLS (each record crosses JavaScript streams), so a PROXY listener
 * with TLS pays for correctness; PROXY without TLS, and TLS without PROXY, do not.
 */
import { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { Socket, TLSOptions } from "bun";
import { SocketStream } from "./stream.ts";
import { SOCKET_CALLBACKS } from "./transport-symbols.ts";

export class TlsAfterHeader {
  /** The stream (set by whoever makes it in `onSecure`), as on a Bun socket. */
  data: unknown;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;

  readonly #raw: Socket<unknown>;
  readonly #duplex: Duplex;
  readonly #tls: TLSSocket;
  /** Ciphertext the raw socket has not taken yet, and the callback of the duplex write it belongs to. */
  #unsent: Uint8Array | null = null;
  #unsentDone: ((error?: Error | null) => void) | null = null;
  #needDrain = false;
  #secure = false;
  #closed = false;
  /** `close()` was called: once the TLS side has written everything, the raw socket closes. */
  #closing = false;

  constructor(
    raw: Socket<unknown>,
    tls: TLSOptions,
    onSecure: (socket: Socket<SocketStream>) => void,
    onHandshakeError: () => void,
  ) {
    this.#raw = raw;
    this.remoteAddress = raw.remoteAddress;
    this.remotePort = raw.remotePort;
    this.localPort = raw.localPort;
    this.#duplex = new Duplex({
      read: () => raw.resume(),
      write: (chunk: Uint8Array, _encoding, done) => this.#writeRaw(chunk, done),
      final: (done) => {
        // close(): the raw socket's end() sends the FIN and releases it (plain TCP);
        // shutdown() alone would keep it open for a peer that may never close.
        if (this.#closing) raw.end();
        else raw.shutdown();
        done();
      },
    });
    this.#tls = new TLSSocket(
      this.#duplex as never,
      {
        isServer: true,
        cert: tls.cert as never,
        key: tls.key as never,
        ca: tls.ca as never,
        passphrase: tls.passphrase,
        requestCert: tls.requestCert,
        rejectUnauthorized: tls.rejectUnauthorized,
      } as never,
    );
    const self = this as unknown as Socket<SocketStream>;
    const callbacks = SocketStream[SOCKET_CALLBACKS];
    this.#tls.on("secure", () => {
      this.#secure = true;
      onSecure(self);
    });
    this.#tls.on("data", (chunk: Uint8Array) => {
      callbacks.data(
        self,
        new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) as Uint8Array<ArrayBuffer>,
      );
    });
    this.#tls.on("end", () => {
      if (this.#secure) callbacks.end(self);
    });
    this.#tls.on("drain", () => {
      this.#needDrain = false;
      if (this.#secure) callbacks.drain(self);
    });
    this.#tls.on("error", (error: Error) => {
      if (this.#secure) callbacks.error(self, error);
      else onHandshakeError();
      this.terminate();
    });
    this.#tls.on("close", () => {
      this.#closed = true;
      if (this.#secure) callbacks.close(self, undefined);
      raw.terminate();
    });
  }

  /** The handshake has succeeded. */
  get secure(): boolean {
    return this.#secure;
  }

  /** Ciphertext from the raw socket. */
  receive(chunk: Uint8Array): void {
    if (!this.#duplex.push(Buffer.from(chunk))) this.#raw.pause();
  }

  rawDrained(): void {
    const unsent = this.#unsent;
    const done = this.#unsentDone;
    if (unsent === null || done === null) return;
    this.#unsent = null;
    this.#unsentDone = null;
    this.#writeRaw(unsent, done);
  }

  rawEnded(): void {
    this.#duplex.push(null);
  }

  rawClosed(): void {
    this.#unsentDone?.(new Error("the connection closed"));
    this.#unsentDone = null;
    this.#duplex.push(null);
    this.#tls.destroy();
  }

  // ------------------------------------------------- the Bun socket methods SocketStream uses

  write(bytes: Uint8Array): number {
    if (this.#closed) return -1;
    if (this.#needDrain) return 0;
    if (!this.#tls.write(bytes)) this.#needDrain = true;
    return bytes.length;
  }

  shutdown(): void {
    this.#tls.end();
  }

  close(): void {
    this.#closing = true;
    this.#tls.end();
  }

  terminate(): void {
    if (this.#closed) return;
    this.#tls.destroy();
    this.#raw.terminate();
  }

  pause(): void {
    this.#tls.pause();
  }

  resume(): void {
    this.#tls.resume();
  }

  setNoDelay(noDelay: boolean): void {
    this.#raw.setNoDelay(noDelay);
  }

  #writeRaw(chunk: Uint8Array, done: (error?: Error | null) => void): void {
    const written = this.#raw.write(chunk);
    if (written === chunk.length) done();
    else if (written < 0) done(new Error("the connection closed"));
    else {
      this.#unsent = chunk.subarray(written);
      this.#unsentDone = done;
    }
  }
}
