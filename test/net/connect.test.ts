import { describe, expect, test } from "bun:test";
import { CancelledError, connect, listen, run, skipAfter, withPool } from "../../src/index.ts";
import { LOCALHOST, tempDir, text } from "./helpers.ts";

describe("connect", () => {
  test(
    "a refused connection is an error naming the address",
    () =>
      run(async () => {
        const listener = await listen(LOCALHOST);
        const port = listener.port;
        await listener.close();
        const error = await connect({ hostname: "127.0.0.1", port }).catch((e) => e);
        expect(error).toBeInstanceOf(Error);
        expect(error.message).toBe(
          `connect to 127.0.0.1:${port} failed: connection refused (ECONNREFUSED)`,
        );
        expect(error.code).toBe("ECONNREFUSED");
      }),
    5000,
  );

  test("a missing unix socket is an error naming the path", async () => {
    const dir = tempDir("giambio-connect-");
    try {
      await run(async () => {
        const path = `${dir.path}/missing.sock`;
        const error = await connect({ unix: path }).catch((e) => e);
        expect(error.message).toBe(`connect to unix:${path} failed: no such socket file (ENOENT)`);
        expect(error.code).toBe("ENOENT");
      });
    } finally {
      dir.remove();
    }
  }, 5000);

  test(
    "bad options are TypeError/RangeError naming the value",
    () =>
      run(async () => {
        await expect(connect({ hostname: "127.0.0.1", port: 0 })).rejects.toThrow(
          /connect\(\{ port \}\) must be an integer >= 1, got 0/,
        );
        await expect(connect({ port: 80 })).rejects.toThrow(
          /connect\(\{ hostname \}\).*got undefined/,
        );
        await expect(connect({ hostname: "127.0.0.1", port: 80, tls: 1 as never })).rejects.toThrow(
          /tls.*got 1/,
        );
        await expect(connect("localhost:80" as never)).rejects.toThrow(
          /connect\(options\).*got "localhost:80"/,
        );
      }),
    5000,
  );

  test("outside a task it is a clear error", async () => {
    await expect(connect({ hostname: "127.0.0.1", port: 80 })).rejects.toThrow(
      /giambio is not running/,
    );
  });

  test(
    "in a cancelled scope it raises CancelledError without connecting",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        await withPool(async (pool) => {
          pool.cancel();
          await expect(connect({ hostname: "127.0.0.1", port: listener.port })).rejects.toThrow(
            CancelledError,
          );
        });
        expect(await skipAfter(30, () => listener.accept())).toBeUndefined();
      }),
    5000,
  );

  test(
    "a connect cancelled while in flight closes the connection it opened",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        await withPool(async (pool) => {
          pool.spawn(() => connect({ hostname: "127.0.0.1", port: listener.port }));
          pool.cancel(); // the attempt is parked; Bun opens the socket afterwards
        });
        await using server = await listener.accept();
        expect((await server.receive()).length).toBe(0);
      }),
    5000,
  );

  test(
    "connects by host name",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        await withPool(async (pool) => {
          const accepted = pool.spawn(() => listener.accept());
          await using client = await connect({ hostname: "localhost", port: listener.port });
          await client.sendAll("by name");
          await using server = await accepted.join();
          expect(text(await server.receiveExactly(7))).toBe("by name");
        });
      }),
    5000,
  );
});
