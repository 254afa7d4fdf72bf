import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  connect,
  listen,
  ResourceClosedError,
  run,
  type SocketStream,
  skipAfter,
  sleep,
  withPool,
} from "../../src/index.ts";
import { LOCALHOST, text } from "./helpers.ts";

describe("listen", () => {
  test(
    "port 0 is bound to a real port when listen resolves",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        expect(listener.port).toBeGreaterThan(0);
        expect(listener.hostname).toBe("127.0.0.1");
        expect(listener.address).toBe(`127.0.0.1:${listener.port}`);
        expect(String(listener)).toBe(`Listener(127.0.0.1:${listener.port})`);
        // Bound, not merely promised: a raw client connects at once.
        const raw = await Bun.connect({
          hostname: "127.0.0.1",
          port: listener.port,
          socket: { data() {} },
        });
        raw.end();
      }),
    5000,
  );

  test(
    "a port in use is an error naming the address, with Bun's code",
    () =>
      run(async () => {
        await using first = await listen(LOCALHOST);
        const error = await listen({ hostname: "127.0.0.1", port: first.port }).catch((e) => e);
        expect(error.message).toBe(
          `listen on 127.0.0.1:${first.port} failed: address already in use (EADDRINUSE)`,
        );
        expect(error.code).toBe("EADDRINUSE");
        expect(error.cause).toBeInstanceOf(Error);
      }),
    5000,
  );

  test(
    "reusePort lets two listeners share a port",
    () =>
      run(async () => {
        await using first = await listen({ ...LOCALHOST, reusePort: true });
        await using second = await listen({
          hostname: "127.0.0.1",
          port: first.port,
          reusePort: true,
        });
        expect(second.port).toBe(first.port);
      }),
    5000,
  );

  test("bad options are TypeError/RangeError naming the value", async () => {
    await expect(listen(undefined as never)).rejects.toThrow(
      /listen\(options\) must be an object.*got undefined/,
    );
    await expect(listen({ hostname: "127.0.0.1", port: 70000 })).rejects.toThrow(
      /at most 65535, got 70000/,
    );
    await expect(listen({ hostname: "127.0.0.1", port: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(listen({ hostname: "127.0.0.1", port: "80" as never })).rejects.toThrow(
      /got "80"/,
    );
    await expect(listen({ hostname: "", port: 0 })).rejects.toThrow(/hostname.*got ""/);
    await expect(listen({ unix: "/tmp/x.sock", port: 1 })).rejects.toThrow(
      /either \{ unix \} or \{ hostname, port \}/,
    );
    await expect(listen({ ...LOCALHOST, backlog: 0 })).rejects.toThrow(/backlog.*got 0/);
    await expect(listen({ ...LOCALHOST, tls: "yes" as never })).rejects.toThrow(/tls.*got "yes"/);
  });

  test(
    "listens on IPv6 loopback",
    () =>
      run(async () => {
        await using listener = await listen({ hostname: "::1", port: 0 });
        expect(listener.address).toBe(`[::1]:${listener.port}`);
        await withPool(async (pool) => {
          const accepted = pool.spawn(() => listener.accept());
          await using client = await connect({ hostname: "::1", port: listener.port });
          await using server = await accepted.join();
          expect(server.remoteAddress).toBe("::1");
          expect(server.peer).toBe(`[::1]:${client.localPort}`);
        });
      }),
    5000,
  );
});

describe("accept", () => {
  test(
    "connections that arrive before accept() wait in the queue, in order",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        const clients: SocketStream[] = [];
        for (let i = 0; i < 3; i++) {
          const client = await connect({ hostname: "127.0.0.1", port: listener.port });
          await client.sendAll(`client ${i}`);
          clients.push(client);
        }
        await sleep(20);
        for (let i = 0; i < 3; i++) {
          const server = await listener.accept();
          expect(text(await server.receiveExactly(8))).toBe(`client ${i}`);
          expect(server.remotePort).toBe(clients[i]?.localPort as number);
          await server.close();
        }
        for (const client of clients) await client.close();
      }),
    5000,
  );

  test(
    "a full backlog closes the extra connections at once and counts them",
    () =>
      run(async () => {
        await using listener = await listen({ ...LOCALHOST, backlog: 2 });
        const clients: SocketStream[] = [];
        for (let i = 0; i < 4; i++)
          clients.push(await connect({ hostname: "127.0.0.1", port: listener.port }));
        await sleep(30);
        expect(listener.refusedConnections).toBe(2);
        // The two refused ones see EOF; the two queued ones are accepted.
        expect((await clients[2]?.receive())?.length).toBe(0);
        expect((await clients[3]?.receive())?.length).toBe(0);
        const first = await listener.accept();
        expect(first.remotePort).toBe(clients[0]?.localPort as number);
        await first.close();
        for (const client of clients) await client.close();
      }),
    5000,
  );

  test(
    "accept() is cancellable and a cancelled acceptor is not handed a connection",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        expect(await skipAfter(20, () => listener.accept())).toBeUndefined();
        await using client = await connect({ hostname: "127.0.0.1", port: listener.port });
        await client.sendAll("hi");
        await using server = await listener.accept();
        expect(text(await server.receiveExactly(2))).toBe("hi");
      }),
    5000,
  );

  test(
    "accept() in a cancelled scope raises CancelledError even with a connection queued",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        await using client = await connect({ hostname: "127.0.0.1", port: listener.port });
        await sleep(20);
        await withPool(async (pool) => {
          pool.cancel();
          await expect(listener.accept()).rejects.toThrow(CancelledError);
        });
        await using server = await listener.accept();
        expect(server.remotePort).toBe(client.localPort);
      }),
    5000,
  );

  test(
    "close() wakes a parked accept() with ResourceClosedError and frees the port",
    () =>
      run(async () => {
        const listener = await listen(LOCALHOST);
        await withPool(async (pool) => {
          const acceptor = pool.spawn(() => listener.accept().catch((e) => e));
          await sleep(10);
          await listener.close();
          await listener.close(); // idempotent
          const error = await acceptor.join();
          expect(error).toBeInstanceOf(ResourceClosedError);
          expect(error.message).toContain(`Listener(127.0.0.1:${listener.port})`);
        });
        await expect(listener.accept()).rejects.toThrow(ResourceClosedError);
        const refused = await connect({ hostname: "127.0.0.1", port: listener.port }).catch(
          (e) => e,
        );
        expect(refused.code).toBe("ECONNREFUSED");
        expect(listener.closed).toBe(true);
      }),
    5000,
  );

  test(
    "close() closes the connections nobody accepted; accepted ones stay open",
    () =>
      run(async () => {
        const listener = await listen(LOCALHOST);
        await using first = await connect({ hostname: "127.0.0.1", port: listener.port });
        await using accepted = await listener.accept();
        await using second = await connect({ hostname: "127.0.0.1", port: listener.port });
        await sleep(20);
        await listener.close();
        expect((await second.receive()).length).toBe(0);
        await first.sendAll("still open");
        expect(text(await accepted.receiveExactly(10))).toBe("still open");
      }),
    5000,
  );

  test(
    "for await yields connections until the listener is closed",
    () =>
      run(async () => {
        const listener = await listen(LOCALHOST);
        const seen: number[] = [];
        await withPool(async (pool) => {
          pool.spawn(async () => {
            for await (const stream of listener) {
              seen.push(stream.remotePort);
              await stream.close();
            }
          });
          for (let i = 0; i < 3; i++) {
            const client = await connect({ hostname: "127.0.0.1", port: listener.port });
            expect((await client.receive()).length).toBe(0);
            await client.close();
          }
          await listener.close();
        });
        expect(seen.length).toBe(3);
      }),
    5000,
  );
});
