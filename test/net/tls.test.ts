import { beforeAll, describe, expect, test } from "bun:test";
import { connect, listen, run, skipAfter, until, withPool } from "../../src/index.ts";
import { echo, pattern, readAll, selfSignedCert, text } from "./helpers.ts";

/** A self-signed certificate for localhost/127.0.0.1, made by the openssl CLI. */
let cert = "";
let key = "";

beforeAll(async () => {
  ({ cert, key } = await selfSignedCert());
});

describe("TLS", () => {
  test(
    "a TLS server and client exchange data both ways, greeting first",
    () =>
      run(async () => {
        await using listener = await listen({ hostname: "127.0.0.1", port: 0, tls: { cert, key } });
        await withPool(async (pool) => {
          pool.spawn(() =>
            listener.serve(async (stream) => {
              // Written right after accept: it must not be lost to the handshake.
              await stream.sendAll("hello over TLS\n");
              await echo(stream);
            }),
          );
          // Written right after connect: it must not be lost either.
          await using client = await connect({
            hostname: "127.0.0.1",
            port: listener.port,
            tls: { ca: cert, serverName: "localhost" },
          });
          await client.sendAll("ping\n");
          expect(text(await client.receiveUntil("\n"))).toBe("hello over TLS\n");
          expect(text(await client.receiveUntil("\n"))).toBe("ping\n");
          const payload = pattern(4 << 20, 9);
          await withPool(async (both) => {
            both.spawn(async () => {
              await client.sendAll(payload);
              await client.sendEof();
            });
            expect(await readAll(client)).toEqual(payload);
          });
          pool.cancel();
        });
      }),
    15000,
  );

  test(
    "a client that does not trust the certificate fails with an error naming the address",
    () =>
      run(async () => {
        await using listener = await listen({ hostname: "127.0.0.1", port: 0, tls: { cert, key } });
        await withPool(async (pool) => {
          pool.spawn(() => listener.serve(echo));
          const error = await connect({
            hostname: "127.0.0.1",
            port: listener.port,
            tls: true,
          }).catch((e) => e);
          expect(error).toBeInstanceOf(Error);
          expect(error.message).toStartWith(
            `connect to 127.0.0.1:${listener.port} failed: TLS handshake failed:`,
          );
          expect(error.message).toContain("self signed certificate");
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "a TLS client against a plain TCP server fails instead of hanging",
    () =>
      run(async () => {
        await using listener = await listen({ hostname: "127.0.0.1", port: 0 });
        await withPool(async (pool) => {
          pool.spawn(() => listener.serve((stream) => stream.sendAll("not TLS at all\n")));
          const error = await connect({
            hostname: "127.0.0.1",
            port: listener.port,
            tls: { ca: cert, serverName: "localhost" },
          }).catch((e) => e);
          expect(error.message).toStartWith(`connect to 127.0.0.1:${listener.port} failed:`);
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "a connect cancelled during the TLS handshake closes the socket it opened",
    () =>
      run(async () => {
        // A plain TCP server that never answers: the client's handshake waits forever.
        let closed!: () => void;
        const serverSawClose = new Promise<void>((resolve) => {
          closed = resolve;
        });
        const silent = Bun.listen({
          hostname: "127.0.0.1",
          port: 0,
          socket: { data() {}, close: () => closed() },
        });
        try {
          const result = await skipAfter(100, () =>
            connect({
              hostname: "127.0.0.1",
              port: silent.port,
              tls: { ca: cert, serverName: "localhost" },
            }),
          );
          expect(result).toBeUndefined();
          // The abandoned attempt closed its socket: the server sees the connection end.
          expect(await skipAfter(2000, () => until(serverSawClose.then(() => "closed")))).toBe(
            "closed",
          );
        } finally {
          silent.stop(true);
        }
      }),
    5000,
  );

  test(
    "closing a TLS listener (a drain does) closes the connections still in their handshake",
    () =>
      run(async () => {
        const listener = await listen({ hostname: "127.0.0.1", port: 0, tls: { cert, key } });
        // A plain TCP client that never sends a ClientHello: it never reaches accept().
        let closed!: () => void;
        const clientSawClose = new Promise<void>((resolve) => {
          closed = resolve;
        });
        const silent = await Bun.connect({
          hostname: "127.0.0.1",
          port: listener.port,
          socket: { data() {}, close: () => closed() },
        });
        try {
          await until(Bun.sleep(50)); // the server has the connection, in its handshake
          await listener.close();
          // Else it stays open for good, and keeps a drained server's process from exiting.
          expect(await skipAfter(2000, () => until(clientSawClose.then(() => "closed")))).toBe(
            "closed",
          );
        } finally {
          silent.terminate();
        }
      }),
    5000,
  );
});
