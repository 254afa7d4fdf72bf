/**
 * The example's connection handler (`serveClient`) in this process, over loopback sockets:
 * commands written in random pieces come back as the right replies, in order, through the
 * stream's `frameBatches(decoder)`; a pipelined burst is answered with one `sendAll`; QUIT in
 * a burst runs nothing after it; a protocol error closes only its own connection; over
 * in-memory streams, reads cancelled at random lose no command. Needs no external tool.
 */
import { describe, expect, test } from "bun:test";
import { execute, RespDecoder, Store, serveClient } from "../../examples/redis-server.ts";
import {
  type ByteStream,
  checkpoint,
  clock,
  connect,
  memoryStreamPair,
  type Pool,
  run,
  type SocketStream,
  serve,
  sleep,
  withPool,
} from "../../src/index.ts";
import { seededRandom } from "../../src/seeded-random.ts";
import { LOCALHOST, readAll } from "../net/helpers.ts";
import { encodeArray } from "./resp.ts";

const latin1 = (text: string) => Buffer.from(text, "latin1");
const asText = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");

/** Sends `text` in random pieces, sometimes pausing between them so they arrive apart. */
async function sendInPieces(stream: SocketStream, text: string, random: () => number) {
  const bytes = latin1(text);
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 3000));
    await stream.sendAll(bytes.subarray(at, at + size));
    at += size;
    if (random() < 0.2) await sleep(1);
  }
  await stream.sendEof();
}

describe("serveClient over loopback", () => {
  test("random commands in random pieces: every reply, in order, as execute gives it", async () => {
    await run(async () => {
      await withPool(async (pool) => {
        const store = new Store(clock);
        const listener = await pool.start(serve, LOCALHOST, (stream: ByteStream) =>
          serveClient(stream, store),
        );
        for (let seed = 1; seed <= 8; seed++) {
          const random = seededRandom(seed);
          const model = new Store(clock);
          // Each connection starts from an empty store, as its model does.
          let requests = encodeArray(["FLUSHDB"]);
          let expected = execute(["FLUSHDB"], model);
          for (let i = 0; i < 300; i++) {
            const key = `k${Math.floor(random() * 10)}`;
            const value = String.fromCharCode(
              ...Array.from({ length: Math.floor(random() * 80) }, () =>
                Math.floor(random() * 256),
              ),
            );
            const args = [
              ["SET", key, value],
              ["GET", key],
              ["INCR", `n${seed}`],
              ["ECHO", value],
              ["MGET", key, "k1", "nothing"],
              ["DEL", key],
            ][Math.floor(random() * 6)] as string[];
            requests +=
              random() < 0.1 && value !== "" && !/[\s"'\\]/.test(value)
                ? `${args.join(" ")}\r\n`
                : encodeArray(args);
            expected += execute(args, model);
          }
          await using client = await connect({ hostname: "127.0.0.1", port: listener.port });
          let replies: Uint8Array = new Uint8Array(0);
          await withPool(async (io) => {
            io.spawn(sendInPieces, client, requests, random);
            replies = await readAll(client);
          });
          expect(asText(replies)).toBe(expected);
        }
        pool.cancel();
      });
    });
  });

  test("a protocol error answers, closes that connection only, after the earlier replies", async () => {
    await run(async () => {
      await withPool(async (pool) => {
        const store = new Store(clock);
        const listener = await pool.start(serve, LOCALHOST, (stream: ByteStream) =>
          serveClient(stream, store),
        );
        const address = { hostname: "127.0.0.1", port: listener.port };
        await using bystander = await connect(address);
        await bystander.sendAll("SET k v\r\n");
        expect(asText(await bystander.receiveExactly(5))).toBe("+OK\r\n");
        await using bad = await connect(address);
        await bad.sendAll("PING\r\n*2\r\n$3\r\nGET\r\n!oops\r\nPING\r\n");
        expect(asText(await readAll(bad))).toBe(
          "+PONG\r\n-ERR Protocol error: expected '$', got '!'\r\n",
        );
        await bystander.sendAll("GET k\r\n");
        expect(asText(await bystander.receiveExactly(7))).toBe("$1\r\nv\r\n");
        pool.cancel();
      });
    });
  });

  test("memory streams: random splits and random cancellations of the read lose no command", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed);
      const commands = Array.from({ length: 40 }, (_, i) => [
        "SET",
        `key:${i}`,
        String.fromCharCode(
          ...Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)),
        ),
      ]);
      const received: string[][] = [];
      await run(async () => {
        const [client, server] = memoryStreamPair({ splitWrites: { seed, maxChunk: 40 } });
        const decoder = new RespDecoder();
        /** The pool of the read in progress, which the writer cancels now and then. */
        let reading: Pool | null = null;
        await withPool(async (pool) => {
          pool.spawn(async () => {
            for (const command of commands) {
              // Half a command, then a turn for the reader to park waiting for the rest,
              // and maybe a cancellation of that wait: the rest must still make the frame.
              const bytes = latin1(encodeArray(command));
              const cut = Math.floor(random() * bytes.length);
              await client.sendAll(bytes.subarray(0, cut));
              await checkpoint();
              if (random() < 0.5) reading?.cancel();
              await client.sendAll(bytes.subarray(cut));
            }
            await client.sendEof();
          });
          for (let done = false; !done; ) {
            await withPool(async (read) => {
              reading = read;
              const frame = await server.receiveFrame(decoder);
              if (frame === undefined) done = true;
              else received.push(frame);
            });
            reading = null;
          }
        });
      });
      if (!Bun.deepEquals(received, commands)) {
        throw new Error(
          `seed ${seed}: ${received.length} of ${commands.length} commands, or altered`,
        );
      }
    }
  });

  test("a pipelined burst: its replies, in order, with one sendAll", () =>
    run(async () => {
      const store = new Store(clock);
      const model = new Store(clock);
      const [client, server] = memoryStreamPair({ bufferSize: 1 << 16 });
      let sends = 0;
      const sendAll = server.sendAll.bind(server);
      server.sendAll = (data) => {
        sends++;
        return sendAll(data);
      };
      const burst = Array.from({ length: 16 }, (_, i) =>
        i % 2 === 0 ? ["SET", `key:${i}`, `value ${i}`] : ["GET", `key:${i - 1}`],
      );
      await client.sendAll(burst.map(encodeArray).join(""));
      await client.sendEof();
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await serveClient(server, store);
          await server.close();
        });
        const replies = asText(await readAll(client as never));
        expect(replies).toBe(burst.map((args) => execute(args, model)).join(""));
      });
      expect(sends).toBe(1);
    }));

  test("QUIT in a burst: the replies up to it, then the connection closes; nothing after it runs", () =>
    run(async () => {
      const store = new Store(clock);
      const [client, server] = memoryStreamPair();
      await client.sendAll("SET a 1\r\nQUIT\r\nSET b 2\r\n");
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await serveClient(server, store);
          await server.close();
        });
        expect(asText(await readAll(client as never))).toBe("+OK\r\n+OK\r\n");
      });
      expect(execute(["EXISTS", "a", "b"], store)).toBe(":1\r\n");
    }));
});
