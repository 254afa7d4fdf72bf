/**
 * The PROXY protocol parser, byte by byte: every prefix of a valid header is "need more",
 * the whole header parses (bytes after it are left alone), and each malformed header is
 * rejected, as early as a prefix allows. Also the address ranges `trusted` is built on.
 */
import { expect, describe as group, test } from "bun:test";
import { formatIp, inRange, parseIp, parseRange } from "../../src/net/address-ranges.ts";
import {
  type ProxyHeader,
  ProxyHeaderError,
  parseProxyHeader,
  V2_SIGNATURE,
} from "../../src/net/proxy-protocol.ts";

const ascii = (text: string) => new TextEncoder().encode(text);

function v2(command: number, family: number, body: number[]): Uint8Array {
  return new Uint8Array([
    ...V2_SIGNATURE,
    0x20 | command,
    family,
    body.length >> 8,
    body.length & 0xff,
    ...body,
  ]);
}

const unixPathBytes = (path: string) => {
  const bytes = new Array<number>(108).fill(0);
  ascii(path).forEach((b, i) => {
    bytes[i] = b;
  });
  return bytes;
};

const V6_SOURCE = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 0x01]; // 2001:db8::1
const V6_DEST = [...new Array(15).fill(0), 0x01]; // ::1

const valid: [string, Uint8Array, Record<string, unknown>][] = [
  [
    "v1 TCP4",
    ascii("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"),
    {
      kind: "proxied",
      version: 1,
      family: "tcp4",
      source: { address: "192.0.2.1", port: 56324 },
      destination: { address: "198.51.100.2", port: 443 },
    },
  ],
  [
    "v1 TCP6 (normalized)",
    ascii("PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 65535 0\r\n"),
    {
      kind: "proxied",
      version: 1,
      family: "tcp6",
      source: { address: "2001:db8::1", port: 65535 },
      destination: { address: "::1", port: 0 },
    },
  ],
  [
    "v1 longest line",
    ascii(
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
    ),
    {
      kind: "proxied",
      version: 1,
      family: "tcp6",
      source: { address: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", port: 65535 },
      destination: { address: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", port: 65535 },
    },
  ],
  ["v1 UNKNOWN", ascii("PROXY UNKNOWN\r\n"), { kind: "local", version: 1 }],
  [
    "v1 UNKNOWN with addresses",
    ascii("PROXY UNKNOWN ff::1 ::1 1 2\r\n"),
    { kind: "local", version: 1 },
  ],
  [
    "v2 PROXY TCP4",
    v2(1, 0x11, [127, 0, 0, 5, 127, 0, 0, 1, 0xdb, 0xf0, 0x1f, 0x90]),
    {
      kind: "proxied",
      version: 2,
      family: "tcp4",
      source: { address: "127.0.0.5", port: 56304 },
      destination: { address: "127.0.0.1", port: 8080 },
    },
  ],
  [
    "v2 PROXY TCP6 with TLVs to skip",
    v2(1, 0x21, [
      ...V6_SOURCE,
      ...V6_DEST,
      0x04,
      0xd2,
      0x00,
      0x50,
      0x01,
      0x00,
      0x02,
      0x68,
      0x32,
      0x04,
      0x00,
      0x00,
    ]),
    {
      kind: "proxied",
      version: 2,
      family: "tcp6",
      source: { address: "2001:db8::1", port: 1234 },
      destination: { address: "::1", port: 80 },
    },
  ],
  [
    "v2 PROXY UNIX",
    v2(1, 0x31, [...unixPathBytes("/run/client.sock"), ...unixPathBytes("/run/server.sock")]),
    {
      kind: "proxied",
      version: 2,
      family: "unix",
      source: { address: "/run/client.sock", port: 0 },
      destination: { address: "/run/server.sock", port: 0 },
    },
  ],
  ["v2 LOCAL (a health check)", v2(0, 0x00, []), { kind: "local", version: 2 }],
  [
    "v2 LOCAL with addresses, ignored",
    v2(0, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]),
    { kind: "local", version: 2 },
  ],
  ["v2 PROXY UNSPEC", v2(1, 0x00, [0xaa, 0xbb]), { kind: "local", version: 2 }],
];

group("valid headers, byte by byte", () => {
  for (const [name, header, expected] of valid) {
    test(name, () => {
      for (let n = 0; n < header.length; n++) {
        const prefix = header.subarray(0, n);
        expect({ n, result: parseProxyHeader(prefix) }).toEqual({ n, result: null });
      }
      expect(parseProxyHeader(header)).toEqual({
        ...expected,
        length: header.length,
      } as ProxyHeader);
      // What follows the header (the client's first bytes) is not part of it.
      const more = new Uint8Array([...header, 0x16, 0x03, 0x01, 0x0d, 0x0a]);
      expect(parseProxyHeader(more)?.length).toBe(header.length);
    });
  }
});

const v4Body = [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2];
const malformed: [string, Uint8Array, RegExp][] = [
  [
    "no header at all (an HTTP request)",
    ascii("GET / HTTP/1.1\r\n"),
    /no PROXY protocol header.*0x47/,
  ],
  ["a TLS ClientHello", new Uint8Array([0x16, 0x03, 0x01]), /no PROXY protocol header/],
  ["wrong v1 prefix", ascii("PROXZ TCP4"), /does not start with "PROXY "/],
  ["lower-case v1", ascii("proxy TCP4"), /no PROXY protocol header/],
  [
    "v1 unknown protocol",
    ascii("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
    /expected "PROXY TCP4\|TCP6/,
  ],
  ["v1 missing a field", ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), /expected "PROXY TCP4/],
  ["v1 double space", ascii("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), /expected "PROXY TCP4/],
  ["v1 bad IPv4", ascii("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), /not IPv4 addresses/],
  ["v1 IPv6 in TCP4", ascii("PROXY TCP4 ::1 ::1 1 2\r\n"), /not IPv4 addresses/],
  ["v1 IPv4 in TCP6", ascii("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), /not IPv6 addresses/],
  ["v1 bad IPv6", ascii("PROXY TCP6 1:::2 ::1 1 2\r\n"), /not IPv6 addresses/],
  ["v1 port too big", ascii("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), /port "65536"/],
  ["v1 port with a leading zero", ascii("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"), /port "080"/],
  ["v1 negative port", ascii("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), /port "-1"/],
  ["v1 CR without LF", ascii("PROXY TCP4 1.2.3.4\rX"), /CR not followed by LF/],
  ["v1 bare LF", ascii("PROXY TCP4 1.2.3.4\n"), /byte 0x0a/],
  ["v1 NUL byte", new Uint8Array([...ascii("PROXY TCP4 "), 0]), /byte 0x00/],
  ["v1 line too long", ascii(`PROXY UNKNOWN ${"x".repeat(100)}`), /no CRLF within 107 bytes/],
  [
    "v2 signature broken",
    new Uint8Array([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x55]),
    /signature does not match/,
  ],
  ["v2 version 1", new Uint8Array([...V2_SIGNATURE, 0x11]), /version 1, expected 2/],
  ["v2 version 3", new Uint8Array([...V2_SIGNATURE, 0x31]), /version 3, expected 2/],
  ["v2 command 2", new Uint8Array([...V2_SIGNATURE, 0x22]), /command 2/],
  ["v2 family 4", new Uint8Array([...V2_SIGNATURE, 0x21, 0x41]), /address family 4/],
  ["v2 transport 3", new Uint8Array([...V2_SIGNATURE, 0x21, 0x13]), /transport 3/],
  [
    "v2 TCP4 too short",
    v2(1, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0]),
    /length 11 is too short for the tcp4/,
  ],
  ["v2 TCP6 too short", v2(1, 0x21, v4Body), /length 12 is too short for the tcp6/],
  ["v2 UNIX too short", v2(1, 0x31, v4Body), /too short for the unix/],
  ["v2 datagram", v2(1, 0x12, v4Body), /datagram/],
];

group("malformed headers", () => {
  for (const [name, bytes, message] of malformed) {
    test(name, () => {
      // Rejected at the first byte that makes it impossible, and for any longer input.
      let firstRejected = -1;
      for (let n = 1; n <= bytes.length; n++) {
        try {
          parseProxyHeader(bytes.subarray(0, n));
        } catch (error) {
          expect(error).toBeInstanceOf(ProxyHeaderError);
          if (firstRejected === -1) firstRejected = n;
          continue;
        }
        expect(firstRejected).toBe(-1); // never accepted again after a rejection
      }
      expect(firstRejected).not.toBe(-1);
      expect(() => parseProxyHeader(bytes)).toThrow(message);
    });
  }
});

group("addresses and trusted ranges", () => {
  test("IPv6 is formatted the RFC 5952 way", () => {
    const cases: [string, string][] = [
      ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
      ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["0:0:0:0:0:0:0:0", "::"],
      ["fe80::", "fe80::"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
      ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
      ["::ffff:127.0.0.1", "127.0.0.1"],
    ];
    for (const [input, output] of cases) {
      const bytes = parseIp(input);
      expect({ input, output: bytes && formatIp(bytes) }).toEqual({ input, output });
    }
  });

  test("bad addresses do not parse", () => {
    for (const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "g::1",
      "12345::",
      "::1.2.3",
    ]) {
      expect({ bad, parsed: parseIp(bad) }).toEqual({ bad, parsed: null });
    }
  });

  test("CIDR ranges match v4, v6 and v4-mapped v6 peers", () => {
    const ten = parseRange("trusted", "10.0.0.0/8");
    expect(inRange(parseIp("10.200.3.4") as Uint8Array, ten)).toBe(true);
    expect(inRange(parseIp("11.0.0.1") as Uint8Array, ten)).toBe(false);
    expect(inRange(parseIp("::ffff:10.1.2.3") as Uint8Array, ten)).toBe(true);
    const odd = parseRange("trusted", "192.168.4.0/22");
    expect(inRange(parseIp("192.168.7.255") as Uint8Array, odd)).toBe(true);
    expect(inRange(parseIp("192.168.8.0") as Uint8Array, odd)).toBe(false);
    const ula = parseRange("trusted", "fd00::/8");
    expect(inRange(parseIp("fd12::1") as Uint8Array, ula)).toBe(true);
    expect(inRange(parseIp("fe12::1") as Uint8Array, ula)).toBe(false);
    expect(inRange(parseIp("10.0.0.1") as Uint8Array, ula)).toBe(false);
    const one = parseRange("trusted", "127.0.0.1");
    expect(inRange(parseIp("127.0.0.1") as Uint8Array, one)).toBe(true);
    expect(inRange(parseIp("127.0.0.2") as Uint8Array, one)).toBe(false);
    expect(inRange(parseIp("1.2.3.4") as Uint8Array, parseRange("trusted", "0.0.0.0/0"))).toBe(
      true,
    );
  });

  test("bad ranges are a TypeError naming the value", () => {
    for (const bad of ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "x", "10.0.0.0/-1"]) {
      expect(() => parseRange("listen({ proxyProtocol: { trusted } })", bad)).toThrow(
        new RegExp(
          `trusted \\} \\}\\) must hold IP addresses or CIDR ranges.*${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`,
        ),
      );
    }
    expect(() => parseRange("trusted", 10)).toThrow(TypeError);
  });
});
