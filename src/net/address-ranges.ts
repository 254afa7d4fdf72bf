/**
 * IP addresses as bytes, and the address ranges (CIDR) a PROXY protocol header is trusted
 * from. Pure code: parsing, canonical formatting (RFC 5952 for IPv6) and matching.
 */
import { describe } from "../errors.ts";

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
export type IpBytes = Uint8Array;

/** Parses a dotted-quad IPv4 address (no leading zeros, each part 0–255), or null. */
export function parseIPv4(text: string): IpBytes | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

/** Parses an IPv6 address (with `::` and an optional trailing dotted IPv4 part), or null. */
export function parseIPv6(text: string): IpBytes | null {
  if (text.length === 0 || text.length > 45) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIPv4(part);
        if (v4 === null) return null;
        out.push(
          ((v4[0] as number) << 8) | (v4[1] as number),
          ((v4[2] as number) << 8) | (v4[3] as number),
        );
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(Number.parseInt(part, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** Either form; an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) becomes the IPv4 address. */
export function parseIp(text: string): IpBytes | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return v4;
  const v6 = parseIPv6(text);
  return v6 === null ? null : unmapIPv4(v6);
}

function unmapIPv4(bytes: IpBytes): IpBytes {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.slice(12);
}

/** `1.2.3.4`, or the RFC 5952 form of an IPv6 address (`2001:db8::1`). */
export function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // The longest run (first if tied) of two or more zero groups becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** A CIDR range: the first `prefix` bits of `network`. */
export interface AddressRange {
  readonly network: IpBytes;
  readonly prefix: number;
}

/**
 * Parses `"10.0.0.0/8"`, `"fd00::/8"` or a single address (a /32 or /128). `what` names the
 * option in the error.
 */
export function parseRange(what: string, text: unknown): AddressRange {
  if (typeof text !== "string") {
    throw new TypeError(
      `${what} must hold addresses or CIDR ranges as strings, got ${describe(text)}`,
    );
  }
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const network = parseIp(address);
  const bits = network === null ? 0 : network.length * 8;
  const prefixText = slash === -1 ? String(bits) : text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (network === null || !(prefix <= bits)) {
    throw new TypeError(
      `${what} must hold IP addresses or CIDR ranges like "10.0.0.0/8" or "fd00::/8", got ${describe(text)}`,
    );
  }
  return { network, prefix };
}

/** The address lies in the range (IPv4 ranges match IPv4-mapped IPv6 addresses too). */
export function inRange(address: IpBytes, range: AddressRange): boolean {
  if (address.length !== range.network.length) return false;
  const whole = range.prefix >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== range.network[i]) return false;
  const rest = range.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (((address[whole] as number) ^ (range.network[whole] as number)) & mask) === 0;
}
