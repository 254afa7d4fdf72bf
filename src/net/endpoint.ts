/**
 * Where a socket listens or connects: a TCP host and port, or a unix socket path. Validates
 * the options of `listen` and `connect` before anything is opened, formats addresses for
 * task names and messages, and turns Bun's terse failures ("Failed to connect") into errors
 * that name the address.
 */
import type { TLSOptions } from "bun";
import { checkDuration, checkInteger, checkKnownKeys, checkOptions } from "../arguments.ts";
import { describe } from "../errors.ts";
import { type ProxyPlan, type ProxyProtocolOptions, parseProxyProtocol } from "./proxy-options.ts";

/** A TCP address (`hostname`, `port`) or a unix socket path. */
export type Endpoint =
  | { readonly kind: "tcp"; readonly hostname: string; readonly port: number }
  | { readonly kind: "unix"; readonly path: string };

/** Options shared by `listen` and `connect`. */
export interface SocketOptions {
  /** Host name or IP address. */
  hostname?: string;
  /** TCP port. */
  port?: number;
  /** Path of a unix domain socket (instead of `hostname`/`port`). */
  unix?: string;
}

/**
 * Options of `listen`: `{ hostname?, port }` or `{ unix }`, plus TLS and socket options.
 */
export interface ListenOptions extends SocketOptions {
  /** Address to bind. Default `"0.0.0.0"` (every IPv4 interface). */
  hostname?: string;
  /** Port to bind; `0` picks a free port (read it back from `listener.port`). */
  port?: number;
  /** Serve TLS with Bun's options: at least `cert` and `key`; `ca`, `requestCert`, ... */
  tls?: TLSOptions;
  /**
   * With `tls`: ms a client has to complete its TLS handshake (after the PROXY header, with
   * `proxyProtocol`) before its connection is closed, unseen by any handler, and counted in
   * `listener.handshakeErrors`. `Infinity`: no limit. Default 10000.
   */
  handshakeTimeout?: number;
  /** Let several listeners (in this or other processes) bind the same port (`SO_REUSEPORT`). */
  reusePort?: boolean;
  /**
   * How many accepted connections may wait for `accept()`; more are closed at once
   * (and counted in `listener.refusedConnections`). Default 128.
   */
  backlog?: number;
  /** Read a PROXY protocol header first (see `ProxyProtocolOptions` and the README). */
  proxyProtocol?: boolean | ProxyProtocolOptions;
}

/** Options of `connect`: `{ hostname, port }` or `{ unix }`, plus TLS. */
export interface ConnectOptions extends SocketOptions {
  /** Host name or IP address to connect to. */
  hostname?: string;
  /** Port to connect to (1–65535). */
  port?: number;
  /**
   * Speak TLS: `true` verifies the server against the system's CAs; an object passes Bun's
   * options (`ca` for a private CA, `serverName`, `cert`/`key` for a client certificate,
   * `rejectUnauthorized`).
   */
  tls?: TLSOptions | boolean;
}

const LISTEN_KEYS = [
  "hostname",
  "port",
  "unix",
  "tls",
  "handshakeTimeout",
  "reusePort",
  "backlog",
  "proxyProtocol",
] as const;
const CONNECT_KEYS = ["hostname", "port", "unix", "tls"] as const;
/** Bun's `TLSOptions` (bun-types), for `listen({ tls })` and `connect({ tls })`. */
const TLS_KEYS = [
  "cert",
  "key",
  "ca",
  "passphrase",
  "certFile",
  "keyFile",
  "caFile",
  "crl",
  "dhParamsFile",
  "serverName",
  "servername",
  "lowMemoryMode",
  "rejectUnauthorized",
  "requestCert",
  "secureOptions",
  "ALPNProtocols",
  "ciphers",
  "clientRenegotiationLimit",
  "clientRenegotiationWindow",
] as const;

/**
 * The longest unix socket path, in bytes: `sun_path` holds 108 bytes on Linux and 104 on
 * macOS and the BSDs, the terminating NUL included. Bun reports a longer one as a bare EINVAL.
 */
const MAX_UNIX_PATH_BYTES = process.platform === "linux" ? 107 : 103;

const DEFAULT_LISTEN_HOST = "0.0.0.0";
const DEFAULT_BACKLOG = 128;
/**
 * A real client finishes its handshake in a few round trips; 10 s leaves a wide margin for a
 * slow link and a loaded server, while a peer
 * that never finishes holds a socket for 10 s, not for the listener's life. Go's
 * `http.DefaultTransport` gives a handshake the same 10 s; nginx's `ssl_handshake_timeout`
 * (60 s) is more lenient, towards clients nobody waits for.
 */
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/** The validated form of `ListenOptions`. */
export interface ListenPlan {
  endpoint: Endpoint;
  tls: TLSOptions | undefined;
  /** Ms, with `tls`; `Infinity` for no limit. */
  handshakeTimeout: number;
  reusePort: boolean;
  backlog: number;
  proxyProtocol: ProxyPlan | null;
}

/** The validated form of `ConnectOptions`. */
export interface ConnectPlan {
  endpoint: Endpoint;
  tls: TLSOptions | boolean;
}

export function parseListenOptions(options: unknown): ListenPlan {
  const o = checkEndpointOptions("listen", options, LISTEN_KEYS);
  const endpoint = parseEndpoint("listen", o, 0, DEFAULT_LISTEN_HOST);
  const tls = o.tls;
  if (tls !== undefined) {
    if (typeof tls !== "object" || tls === null || Array.isArray(tls)) {
      throw new TypeError(
        `listen({ tls }) must be Bun's TLS options (an object with cert and key), got ${describe(tls)}`,
      );
    }
    checkKnownKeys("listen({ tls })", tls, TLS_KEYS);
    const given = tls as Given<typeof TLS_KEYS>;
    const missing = [
      given.cert === undefined && given.certFile === undefined ? "cert" : null,
      given.key === undefined && given.keyFile === undefined ? "key" : null,
    ].filter((name) => name !== null);
    if (missing.length > 0) {
      throw new TypeError(
        `listen({ tls }) needs a certificate and its private key: ${missing.join(" and ")} missing (give cert and key, PEM, or certFile and keyFile)`,
      );
    }
  }
  let handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
  if (o.handshakeTimeout !== undefined) {
    handshakeTimeout = checkDuration("listen({ handshakeTimeout })", o.handshakeTimeout);
    if (tls === undefined) {
      throw new TypeError(
        `listen({ handshakeTimeout }) limits the TLS handshake: it needs tls, got handshakeTimeout ${handshakeTimeout} without it`,
      );
    }
  }
  const reusePort = o.reusePort === undefined ? false : o.reusePort;
  if (typeof reusePort !== "boolean") {
    throw new TypeError(`listen({ reusePort }) must be a boolean, got ${describe(reusePort)}`);
  }
  const backlog =
    o.backlog === undefined ? DEFAULT_BACKLOG : checkInteger("listen({ backlog })", o.backlog, 1);
  const proxyProtocol = parseProxyProtocol(o.proxyProtocol);
  return {
    endpoint,
    tls: tls as TLSOptions | undefined,
    handshakeTimeout,
    reusePort,
    backlog,
    proxyProtocol,
  };
}

export function parseConnectOptions(options: unknown): ConnectPlan {
  const o = checkEndpointOptions("connect", options, CONNECT_KEYS);
  const endpoint = parseEndpoint("connect", o, 1, undefined);
  const tls = o.tls === undefined ? false : o.tls;
  if (typeof tls !== "boolean" && (typeof tls !== "object" || tls === null || Array.isArray(tls))) {
    throw new TypeError(
      `connect({ tls }) must be true or Bun's TLS options (ca, serverName, ...), got ${describe(tls)}`,
    );
  }
  if (typeof tls === "object") checkKnownKeys("connect({ tls })", tls, TLS_KEYS);
  return { endpoint, tls: tls as TLSOptions | boolean };
}

/** `127.0.0.1:80`, `[::1]:80`, `unix:/tmp/app.sock`. */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.kind === "unix"
    ? `unix:${endpoint.path}`
    : formatAddress(endpoint.hostname, endpoint.port);
}

/** `host:port`, with IPv6 addresses in brackets. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * An error for a failed `listen`/`connect` that names the address, keeps Bun's error as
 * `cause` and its `code` (`ECONNREFUSED`, `EADDRINUSE`, ...) for programs to test.
 */
export function endpointError(
  action: "listen on" | "connect to",
  endpoint: Endpoint,
  cause: unknown,
): Error & { code?: string } {
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  const reason = typeof code === "string" ? `${SYSTEM_ERRORS[code] ?? message} (${code})` : message;
  const error: Error & { code?: string } = new Error(
    `${action} ${formatEndpoint(endpoint)} failed: ${reason}`,
    { cause },
  );
  if (typeof code === "string") error.code = code;
  return error;
}

const SYSTEM_ERRORS: Record<string, string> = {
  EACCES: "permission denied",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this machine",
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOENT: "no such socket file",
  ENOTFOUND: "host name not found",
  ETIMEDOUT: "timed out",
};

/** An options object with these keys, each of unknown type until checked. */
type Given<Keys extends readonly string[]> = { [K in Keys[number]]?: unknown };

function checkEndpointOptions<Keys extends readonly string[]>(
  fn: string,
  options: unknown,
  accepted: Keys,
): Given<Keys> {
  return checkOptions(
    `${fn}(options)`,
    options,
    accepted,
    "{ hostname, port } or { unix }",
  ) as Given<Keys>;
}

function parseEndpoint(
  fn: string,
  o: Given<typeof CONNECT_KEYS>,
  minPort: number,
  defaultHost: string | undefined,
): Endpoint {
  const unix = o.unix;
  if (unix !== undefined) {
    if (o.hostname !== undefined || o.port !== undefined) {
      throw new TypeError(
        `${fn}() takes either { unix } or { hostname, port }, got both (unix ${describe(unix)}, hostname ${describe(o.hostname)}, port ${describe(o.port)})`,
      );
    }
    if (typeof unix !== "string" || unix === "") {
      throw new TypeError(`${fn}({ unix }) must be a non-empty path, got ${describe(unix)}`);
    }
    const bytes = Buffer.byteLength(unix);
    if (bytes > MAX_UNIX_PATH_BYTES) {
      throw new RangeError(
        `${fn}({ unix }): the path is too long, ${bytes} bytes; unix socket paths hold at most ${MAX_UNIX_PATH_BYTES} bytes on this system: ${describe(unix)}`,
      );
    }
    return { kind: "unix", path: unix };
  }
  // `null` is no request for the default (README, "Options"): only a missing hostname is.
  const hostname = o.hostname === undefined ? defaultHost : o.hostname;
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError(
      `${fn}({ hostname }) must be a non-empty host name or IP address, got ${describe(hostname)}`,
    );
  }
  const port = checkInteger(`${fn}({ port })`, o.port, minPort);
  if (port > 65535) throw new RangeError(`${fn}({ port }) must be at most 65535, got ${port}`);
  return { kind: "tcp", hostname, port };
}
