/**
 * A stream we closed gives its socket back at once, whatever the peer does: a peer that stays
 * silent and never closes (over TLS, Bun's `end()` kept the socket until the peer's
 * close_notify), or one that stopped reading (then the socket is reset after a bounded
 * linger). The final bytes still reach a peer that reads them. Measured by counting this
 * process's file descriptors in /proc/self/fd.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import type { Socket } from "bun";
import {
  checkpoint,
  connect,
  type ListenOptions,
  listen,
  run,
  type SocketStream,
  sleep,
  withPool,
} from "../../src/index.ts";
import { pattern, readAll, selfSignedCert, tempDir } from "./helpers.ts";

const openFds = () => readdirSync("/proc/self/fd").length;

/**
 * Waits (up to `ms`) for this process to hold at most `target()` fds; returns how many it
 * holds minus that target (0 when it settled).
 */
async function fdsAboveTarget(target: () => number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  while (openFds() > target() && Date.now() < until) await sleep(20);
  return openFds() - target();
}

let cert = "";
let key = "";
let dir = { path: "", remove: () => {} };

beforeAll(async () => {
  dir = tempDir("giambio-linger-");
  ({ cert, key } = await selfSignedCert());
});

afterAll(() => dir.remove());

type Transport = "tcp" | "tls" | "unix";

function listenOptions(transport: Transport): ListenOptions {
  if (transport === "unix") return { unix: `${dir.path}/linger.sock` };
  const tcp = { hostname: "127.0.0.1", port: 0 };
  return transport === "tls" ? { ...tcp, tls: { cert, key } } : tcp;
}

/**
 * A raw Bun client that never sends and never closes (until the test ends it); it resolves
 * `greeted` on its first bytes and, if `stopReading`, stops reading there.
 */
interface SilentPeer {
  socket: Socket<undefined>;
  greeted: Promise<void>;
  closed: () => boolean;
}

async function silentPeer(
  transport: Transport,
  port: number,
  stopReading: boolean,
): Promise<SilentPeer> {
  const greeted = Promise.withResolvers<void>();
  let closed = false;
  const handlers = {
    data(socket: Socket<undefined>) {
      if (stopReading) socket.pause();
      greeted.resolve();
    },
    end() {}, // the server's FIN: stay open (allowHalfOpen), as a peer may
    close() {
      closed = true;
    },
  };
  const socket =
    transport === "unix"
      ? await Bun.connect({
          unix: `${dir.path}/linger.sock`,
          allowHalfOpen: true,
          socket: handlers,
        })
      : await Bun.connect({
          hostname: "127.0.0.1",
          port,
          allowHalfOpen: true,
          ...(transport === "tls" ? { tls: { rejectUnauthorized: false } } : {}),
          socket: handlers,
        });
  return { socket, greeted: greeted.promise, closed: () => closed };
}

const PEERS = 20;

describe("a stream we closed releases its socket", () => {
  for (const transport of ["tls", "tcp", "unix"] as const) {
    test(`${transport}: ${PEERS} silent peers that never close do not keep the server's sockets`, () =>
      run(async () => {
        await using listener = await listen(listenOptions(transport));
        await withPool(async (pool) => {
          pool.spawn(() => listener.serve((stream) => stream.sendAll("bye\n")));
          const baseline = openFds();
          const peers: SilentPeer[] = [];
          for (let i = 0; i < PEERS; i++)
            peers.push(await silentPeer(transport, listener.port, false));
          try {
            await Promise.all(peers.map((peer) => peer.greeted));
            // The handlers returned: only the peers' own sockets may remain. (A Bun unix
            // client closes on the server's FIN despite allowHalfOpen, oven-sh/bun#13217;
            // over TCP and TLS the peers stay open.)
            if (transport !== "unix") expect(peers.filter((peer) => peer.closed())).toEqual([]);
            const open = () => peers.filter((peer) => !peer.closed()).length;
            expect(await fdsAboveTarget(() => baseline + open(), 3000)).toBe(0);
          } finally {
            for (const peer of peers) peer.socket.end();
          }
          pool.cancel();
        });
      }));
  }

  test("tls after a PROXY header: silent peers that never close do not keep the server's sockets", () =>
    run(async () => {
      await using listener = await listen({ ...listenOptions("tls"), proxyProtocol: true });
      await withPool(async (pool) => {
        pool.spawn(() => listener.serve((stream) => stream.sendAll("bye\n")));
        const baseline = openFds();
        const peers: { socket: TLSSocket; closed: boolean }[] = [];
        const greeted: Promise<void>[] = [];
        for (let i = 0; i < 5; i++) {
          const { promise, resolve } = Promise.withResolvers<void>();
          greeted.push(promise);
          const raw = netConnect({ host: "127.0.0.1", port: listener.port, allowHalfOpen: true });
          raw.write("PROXY TCP4 192.0.2.44 127.0.0.1 5555 443\r\n");
          const peer = {
            socket: tlsConnect({ socket: raw, ca: cert, servername: "localhost" }),
            closed: false,
          };
          peer.socket.on("data", () => resolve());
          peer.socket.on("close", () => {
            peer.closed = true;
          });
          peers.push(peer);
        }
        try {
          await Promise.all(greeted);
          expect(peers.filter((peer) => peer.closed)).toEqual([]);
          expect(await fdsAboveTarget(() => baseline + peers.length, 3000)).toBe(0);
        } finally {
          for (const peer of peers) peer.socket.destroy();
        }
        pool.cancel();
      });
    }));

  test("tls: a 1 MiB final reply reaches a peer that reads it late, then the socket goes", () =>
    run(async () => {
      await using listener = await listen(listenOptions("tls"));
      const reply = pattern(1 << 20, 3);
      await withPool(async (pool) => {
        pool.spawn(() => listener.serve((stream) => stream.sendAll(reply)));
        const baseline = openFds();
        const client: SocketStream = await connect({
          hostname: "127.0.0.1",
          port: listener.port,
          tls: { ca: cert, serverName: "localhost" },
        });
        try {
          await sleep(300); // the reply fills the socket buffers; the server waits for drain
          expect(await readAll(client)).toEqual(reply);
          expect(await fdsAboveTarget(() => baseline + 1, 3000)).toBe(0);
        } finally {
          await client.close();
        }
        pool.cancel();
      });
    }));

  test(
    "tls: a peer that stopped reading has the closed socket reset after the linger",
    () =>
      run(async () => {
        await using listener = await listen(listenOptions("tls"));
        await withPool(async (pool) => {
          pool.spawn(() =>
            listener.serve(async (stream) => {
              await stream.sendAll("hi\n");
              await sleep(100); // the peer stops reading on the greeting
              // The reply fills the socket, and Bun holds the ciphertext the kernel refused;
              // the handler gives up on it at once, so the stream is closed behind that spill.
              await withPool(async (reply) => {
                reply.spawn(() => stream.sendAll(pattern(16 << 20)));
                await checkpoint();
                reply.cancel();
              });
            }),
          );
          const baseline = openFds();
          const peer = await silentPeer("tls", listener.port, true);
          try {
            await peer.greeted;
            // CLOSE_LINGER_MS (5 s) after the close, plus a margin; the reset may close the peer.
            const target = () => baseline + (peer.closed() ? 0 : 1);
            expect(await fdsAboveTarget(target, 9000)).toBe(0);
          } finally {
            peer.socket.end();
          }
          pool.cancel();
        });
      }),
    15000,
  );
});
