/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2): a load
 * balancer sends it first on each connection to say who the client really is. Pure code:
 * `parseProxyHeader` looks at the bytes received so far and says "need more" (null), the
 * header (with how many bytes it used), or throws `ProxyHeaderError`. Every prefix of a
 * valid header is "need more"; a prefix no valid header starts with is rejected at once.
 *
 * v1 is one text line, at most 107 bytes with its CRLF:
 *   `PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n` (or TCP6, or `PROXY UNKNOWN...\r\n`).
 * v2 is binary: a 12-byte signature, version/command, family/transport, a 16-bit length,
 * then the addresses (12 bytes for IPv4, 36 for IPv6, 216 for unix) and TLVs, skipped here.
 * The LOCAL command (a balancer's own health check) and the UNKNOWN/UNSPEC families carry no
 * client: the connection's real endpoints stand.
 */
import { GiambioError, nameOnPrototypes } from "../errors.ts";
import { formatIp, parseIPv4, parseIPv6 } from "./address-ranges.ts";

/** A PROXY protocol header was missing, malformed, too slow, or came from an untrusted peer. */
export class ProxyHeaderError extends GiambioError {}

nameOnPrototypes({ ProxyHeaderError });

/** One end of the proxied connection: an IP address and port, or a unix socket path (port 0). */
export interface ProxiedEndpoint {
  readonly address: string;
  readonly port: number;
}

/** A parsed header and the number of bytes it took. */
export type ProxyHeader =
  | {
      /** The header names the client (PROXY command, a known family). */
      readonly kind: "proxied";
      readonly version: 1 | 2;
      readonly length: number;
      readonly family: "tcp4" | "tcp6" | "unix";
      readonly source: ProxiedEndpoint;
      readonly destination: ProxiedEndpoint;
    }
  | {
      /** LOCAL command or UNKNOWN/UNSPEC family: use the connection's own endpoints. */
      readonly kind: "local";
      readonly version: 1 | 2;
      readonly length: number;
    };

/** The v2 signature: `\r\n\r\n\0\r\nQUIT\n`. */
export const V2_SIGNATURE = new Uint8Array([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = new TextEncoder().encode("PROXY ");
/** The longest v1 line, CRLF included. */
export const V1_MAX_LENGTH = 107;
const V2_FIXED = 16;
const ADDRESS_BLOCK = { tcp4: 12, tcp6: 36, unix: 216 } as const;
const UNIX_PATH = 108;

/**
 * The header at the start of `bytes`, null if `bytes` is a prefix of one (more is needed),
 * or a thrown `ProxyHeaderError` when no valid header starts with them.
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyHeader | null {
  if (bytes.length === 0) return null;
  if (bytes[0] === V1_PREFIX[0]) return parseV1(bytes);
  if (bytes[0] === V2_SIGNATURE[0]) return parseV2(bytes);
  throw new ProxyHeaderError(
    `no PROXY protocol header: the connection starts with byte 0x${hex(bytes[0] as number)}, not "PROXY " (v1) or the v2 signature`,
  );
}

function parseV1(bytes: Uint8Array): ProxyHeader | null {
  const prefix = Math.min(bytes.length, V1_PREFIX.length);
  for (let i = 0; i < prefix; i++) {
    if (bytes[i] !== V1_PREFIX[i]) throw malformedV1('it does not start with "PROXY "');
  }
  let end = -1;
  const scan = Math.min(bytes.length, V1_MAX_LENGTH);
  for (let i = V1_PREFIX.length; i < scan; i++) {
    const byte = bytes[i] as number;
    if (byte === 0x0d) {
      if (i + 1 >= bytes.length) return null; // CR seen, LF not yet
      if (bytes[i + 1] !== 0x0a) throw malformedV1("CR not followed by LF");
      end = i;
      break;
    }
    if (byte < 0x20 || byte > 0x7e) throw malformedV1(`byte 0x${hex(byte)} in the line`);
  }
  if (end === -1) {
    if (bytes.length < V1_MAX_LENGTH) return null;
    throw malformedV1(`no CRLF within ${V1_MAX_LENGTH} bytes`);
  }
  const length = end + 2;
  const line = String.fromCharCode(...bytes.subarray(0, end));
  const fields = line.split(" ");
  if (fields[1] === "UNKNOWN") return { kind: "local", version: 1, length };
  if (fields.length !== 6 || (fields[1] !== "TCP4" && fields[1] !== "TCP6")) {
    throw malformedV1(
      `expected "PROXY TCP4|TCP6 <source> <destination> <sport> <dport>", got ${JSON.stringify(line)}`,
    );
  }
  const [, protocol, sourceText, destinationText, sportText, dportText] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const parse = protocol === "TCP4" ? parseIPv4 : parseIPv6;
  const source = parse(sourceText);
  const destination = parse(destinationText);
  if (source === null || destination === null) {
    throw malformedV1(
      `${JSON.stringify(`${sourceText} ${destinationText}`)} are not ${protocol === "TCP4" ? "IPv4" : "IPv6"} addresses`,
    );
  }
  return {
    kind: "proxied",
    version: 1,
    length,
    family: protocol === "TCP4" ? "tcp4" : "tcp6",
    source: { address: formatIp(source), port: parseV1Port(sportText) },
    destination: { address: formatIp(destination), port: parseV1Port(dportText) },
  };
}

function parseV1Port(text: string): number {
  const port = /^(0|[1-9]\d{0,4})$/.test(text) ? Number(text) : Number.NaN;
  if (!(port <= 65535)) throw malformedV1(`port ${JSON.stringify(text)} is not 0-65535`);
  return port;
}

function parseV2(bytes: Uint8Array): ProxyHeader | null {
  const prefix = Math.min(bytes.length, V2_SIGNATURE.length);
  for (let i = 0; i < prefix; i++) {
    if (bytes[i] !== V2_SIGNATURE[i]) throw malformedV2("the signature does not match");
  }
  if (bytes.length < 13) return null;
  const versionCommand = bytes[12] as number;
  if (versionCommand >> 4 !== 2) throw malformedV2(`version ${versionCommand >> 4}, expected 2`);
  const command = versionCommand & 0x0f;
  if (command > 1) throw malformedV2(`command ${command}, expected LOCAL (0) or PROXY (1)`);
  if (bytes.length < 14) return null;
  const familyTransport = bytes[13] as number;
  const familyCode = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  if (familyCode > 3) throw malformedV2(`address family ${familyCode}, expected 0-3`);
  if (transport > 2) throw malformedV2(`transport ${transport}, expected 0-2`);
  if (bytes.length < V2_FIXED) return null;
  const rest = ((bytes[14] as number) << 8) | (bytes[15] as number);
  const family =
    familyCode === 1 ? "tcp4" : familyCode === 2 ? "tcp6" : familyCode === 3 ? "unix" : null;
  // A LOCAL header may carry any family; a PROXY one must have room for its addresses.
  if (command === 1 && family !== null && rest < ADDRESS_BLOCK[family]) {
    throw malformedV2(
      `length ${rest} is too short for the ${family} addresses (${ADDRESS_BLOCK[family]} bytes)`,
    );
  }
  if (command === 1 && family !== null && transport === 2) {
    throw malformedV2("a datagram (UDP) header on a stream connection");
  }
  const length = V2_FIXED + rest;
  if (bytes.length < length) return null;
  if (command === 0 || family === null) return { kind: "local", version: 2, length };
  const at = V2_FIXED;
  let source: ProxiedEndpoint;
  let destination: ProxiedEndpoint;
  if (family === "unix") {
    source = { address: unixPath(bytes.subarray(at, at + UNIX_PATH)), port: 0 };
    destination = {
      address: unixPath(bytes.subarray(at + UNIX_PATH, at + 2 * UNIX_PATH)),
      port: 0,
    };
  } else {
    const size = family === "tcp4" ? 4 : 16;
    const ports = at + 2 * size;
    source = { address: formatIp(bytes.slice(at, at + size)), port: port16(bytes, ports) };
    destination = {
      address: formatIp(bytes.slice(at + size, at + 2 * size)),
      port: port16(bytes, ports + 2),
    };
  }
  return { kind: "proxied", version: 2, length, family, source, destination };
}

function port16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
}

function unixPath(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder().decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

function malformedV1(why: string): ProxyHeaderError {
  return new ProxyHeaderError(`malformed PROXY protocol v1 header: ${why}`);
}

function malformedV2(why: string): ProxyHeaderError {
  return new ProxyHeaderError(`malformed PROXY protocol v2 header: ${why}`);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
