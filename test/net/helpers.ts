/**
 * Shared pieces of the network tests: deterministic payloads, reading a stream to its end,
 * a connected pair of streams (and a test body run over one), an echo handler, a temporary
 * directory and a self-signed certificate.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  connect,
  type Listener,
  listen,
  run,
  type SocketStream,
  withPool,
} from "../../src/index.ts";

export const LOCALHOST = { hostname: "127.0.0.1", port: 0 } as const;

/** `n` bytes of a pattern that differs per `seed`, so misplaced bytes are caught. */
export function pattern(n: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(n);
  let x = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** Receives until EOF and returns everything as one array. */
export async function readAll(stream: SocketStream): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return concat(chunks);
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

export const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
export const encode = (s: string) => new TextEncoder().encode(s);

/**
 * A connected pair of TCP streams, `[client, server]`: the client end of a `connect` and
 * the stream `accept` gave for it. Over `listener` when given (the caller closes it), else
 * over a listener on 127.0.0.1 that is closed once the pair is made. Call inside a task.
 */
export async function connectedPair(listener?: Listener): Promise<[SocketStream, SocketStream]> {
  await using own = listener === undefined ? await listen(LOCALHOST) : undefined;
  const server = (listener ?? own) as Listener;
  return await withPool(async (pool) => {
    const accepted = pool.spawn(() => server.accept());
    const client = await connect({ hostname: "127.0.0.1", port: server.port });
    return [client, await accepted.join()];
  });
}

/**
 * Runs `body(client, server)` in a `run` of its own (so not inside a task) with a connected
 * pair of streams over 127.0.0.1, and closes both afterwards.
 */
export function withPair(
  body: (client: SocketStream, server: SocketStream) => Promise<void>,
): Promise<void> {
  return run(async () => {
    const [client, server] = await connectedPair();
    try {
      await body(client, server);
    } finally {
      await client.close();
      await server.close();
    }
  });
}

/** Echoes every chunk back until EOF. */
export async function echo(stream: SocketStream): Promise<void> {
  for await (const chunk of stream) await stream.sendAll(chunk);
}

/** A temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A PEM certificate and its private key. */
export interface SelfSignedCert {
  cert: string;
  key: string;
}

/**
 * A fresh self-signed certificate for localhost/127.0.0.1, made by the openssl CLI in a
 * temporary directory that is removed again. Slow (an RSA key), so make it once per file,
 * in `beforeAll`.
 */
export async function selfSignedCert(): Promise<SelfSignedCert> {
  const dir = tempDir("giambio-cert-");
  try {
    const made = Bun.spawnSync([
      ..."openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost".split(" "),
      ...["-keyout", `${dir.path}/key.pem`, "-out", `${dir.path}/cert.pem`],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ]);
    if (made.exitCode !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
    return {
      cert: await Bun.file(`${dir.path}/cert.pem`).text(),
      key: await Bun.file(`${dir.path}/key.pem`).text(),
    };
  } finally {
    dir.remove();
  }
}
