/**
 * `listen({ proxyProtocol })`: the option's shape and its validation (the reading itself is
 * in `proxy-listener.ts`).
 */
import { checkDuration, checkOptions } from "../arguments.ts";
import { describe } from "../errors.ts";
import { type AddressRange, parseRange } from "./address-ranges.ts";

/** `listen({ proxyProtocol: { ... } })`. */
export interface ProxyProtocolOptions {
  /**
   * Peers allowed to send the header: IP addresses or CIDR ranges (`"10.0.0.0/8"`,
   * `"fd00::/8"`). A connection from any other peer is closed. Omitted: every peer, as with
   * `proxyProtocol: true`. Peers of a unix socket are always trusted.
   */
  trusted?: readonly string[];
  /** Ms a peer has to send the whole header before its connection is closed. Default 3000. */
  timeout?: number;
}

/** @internal The validated form of `proxyProtocol`. */
export interface ProxyPlan {
  /** null: every peer is trusted. */
  readonly trusted: readonly AddressRange[] | null;
  readonly timeout: number;
}

const DEFAULT_HEADER_TIMEOUT = 3000;
const KEYS = ["trusted", "timeout"] as const;

/** @internal Validates `listen({ proxyProtocol })`; null when it is off. */
export function parseProxyProtocol(value: unknown): ProxyPlan | null {
  if (value === undefined || value === false) return null;
  if (value === true) return { trusted: null, timeout: DEFAULT_HEADER_TIMEOUT };
  checkOptions("listen({ proxyProtocol })", value, KEYS, '{ trusted: ["10.0.0.0/8"] } or true');
  const { trusted, timeout } = value as ProxyProtocolOptions;
  if (trusted !== undefined && !Array.isArray(trusted)) {
    throw new TypeError(
      `listen({ proxyProtocol: { trusted } }) must be an array of addresses or CIDR ranges, got ${describe(trusted)}`,
    );
  }
  return {
    trusted:
      trusted === undefined
        ? null
        : trusted.map((range) => parseRange("listen({ proxyProtocol: { trusted } })", range)),
    timeout:
      timeout === undefined
        ? DEFAULT_HEADER_TIMEOUT
        : checkDuration("listen({ proxyProtocol: { timeout } })", timeout),
  };
}
