import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { connect, listen, run, withPool } from "../../src/index.ts";
import { echo, pattern, readAll, tempDir, text } from "./helpers.ts";

let dir = { path: "", remove: () => {} };
beforeAll(async () => {
  dir = tempDir("giambio-unix-");
});
afterAll(() => dir.remove());

describe("unix sockets", () => {
  test(
    "listen and connect on a path, with half-close and a large transfer",
    () =>
      run(async () => {
        const path = `${dir.path}/echo.sock`;
        const listener = await listen({ unix: path });
        expect(listener.unix).toBe(path);
        expect(listener.address).toBe(`unix:${path}`);
        expect(listener.port).toBe(0);
        await withPool(async (pool) => {
          pool.spawn(() =>
            listener.serve(async (stream) => {
              expect(stream.remoteAddress).toBe(path);
              expect(stream.peer).toBe(`unix:${path}`);
              await echo(stream);
            }),
          );
          await using client = await connect({ unix: path });
          expect(client.remoteAddress).toBe(path);
          expect(client.remotePort).toBe(0);
          const payload = pattern(2 << 20, 4);
          await withPool(async (both) => {
            both.spawn(async () => {
              await client.sendAll(payload);
              await client.sendEof();
            });
            expect(await readAll(client)).toEqual(payload);
          });
          pool.cancel();
        });
        expect(existsSync(path)).toBe(false); // closing the listener removed the socket file
      }),
    10000,
  );

  test(
    "a path already in use is an error naming it",
    () =>
      run(async () => {
        const path = `${dir.path}/busy.sock`;
        await using first = await listen({ unix: path });
        const error = await listen({ unix: path }).catch((e) => e);
        expect(error.message).toBe(
          `listen on unix:${path} failed: address already in use (EADDRINUSE)`,
        );
        expect(first.unix).toBe(path);
      }),
    5000,
  );

  test(
    "accept and receiveUntil work the same over a unix socket",
    () =>
      run(async () => {
        const path = `${dir.path}/lines.sock`;
        await using listener = await listen({ unix: path });
        await withPool(async (pool) => {
          const accepted = pool.spawn(() => listener.accept());
          await using client = await connect({ unix: path });
          await client.sendAll("one\ntwo\n");
          await using server = await accepted.join();
          expect(text(await server.receiveUntil("\n"))).toBe("one\n");
          expect(text(await server.receiveUntil("\n"))).toBe("two\n");
        });
      }),
    5000,
  );
});
