/**
 * Write coalescing: a stream that writes several times within one iteration of the loop
 * switches to one `write` per iteration; one that writes once per iteration writes at once.
 * The algorithm is checked against a fake socket that records every `write` call; the
 * guarantees that matter to users (order, nothing stuck, FIN after data) on real sockets.
 */
import { describe, expect, test } from "bun:test";
import { checkpoint, connect, listen, run, sleep, withPool } from "../../src/index.ts";
import { fakeStream } from "./fake-socket.ts";
import { LOCALHOST, readAll, text } from "./helpers.ts";

describe("write coalescing (fake socket)", () => {
  test("one write per iteration is written at once; a second one switches to coalescing", async () => {
    await run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      expect(socket.writes).toEqual(["a"]); // written at once
      await stream.sendAll("b");
      expect(socket.writes).toEqual(["a"]); // second in this iteration: deferred
      await checkpoint(); // the iteration ends: flushed
      expect(socket.writes).toEqual(["a", "b"]);
      await stream.sendAll("c");
      await stream.sendAll("d");
      await stream.sendAll("e");
      expect(socket.writes).toEqual(["a", "b"]);
      await checkpoint();
      expect(socket.writes).toEqual(["a", "b", "cde"]); // one write for the three
    });
  });

  test("a stream whose iterations bring single writes goes back to writing at once", async () => {
    await run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await stream.sendAll("b"); // now coalescing
      await checkpoint();
      for (let i = 0; i < 8; i++) {
        await stream.sendAll(String(i));
        await checkpoint();
      }
      const before = socket.writes.length;
      await stream.sendAll("direct");
      expect(socket.writes.length).toBe(before + 1);
      expect(socket.writes.at(-1)).toBe("direct");
    });
  });

  test("large data is written at once, after what was coalesced, in order", async () => {
    await run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await stream.sendAll("b"); // coalescing
      await stream.sendAll("x".repeat(70_000)); // above COALESCE_LIMIT with "b": written now
      expect(socket.writes).toEqual(["a", `b${"x".repeat(70_000)}`]);
    });
  });

  test("a partial write keeps the rest; the next sendAll waits for drain", async () => {
    await run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await stream.sendAll("bcdef"); // coalescing
      socket.capacity = 2; // the socket takes "bc" at the flush
      await checkpoint();
      expect(socket.writes).toEqual(["a", "bc"]);
      await withPool(async (pool) => {
        const sender = pool.spawn(() => stream.sendAll("g"));
        await sleep(5);
        expect(sender.done).toBe(false); // parked until the outbox drains
        socket.drain(2);
        await sleep(5);
        expect(sender.done).toBe(false);
        socket.drain();
      });
      expect(socket.writes).toEqual(["a", "bc", "de", "fg"]);
    });
  });

  test("close() and sendEof() write what was coalesced first", async () => {
    await run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await stream.sendAll("b");
      await stream.sendEof();
      await stream.close();
      expect(socket.writes).toEqual(["a", "b", "<FIN>", "<CLOSE>"]);
    });
  });

  test("coalesced bytes go out even when the writer then awaits a foreign promise", async () => {
    await run(async () => {
      const { socket, stream } = fakeStream();
      await stream.sendAll("a");
      await stream.sendAll("b");
      // A plain await the loop cannot see: the step never ends on its own, yet the loop
      // must not hold the coalesced write until it does.
      const seen = await new Promise<string[]>((resolve) =>
        setTimeout(() => resolve([...socket.writes]), 30),
      );
      expect(seen).toEqual(["a", "b"]);
    });
  });
});

describe("write coalescing (real sockets)", () => {
  test("a reply and a prompt per request arrive intact and in order", async () => {
    await run(async () => {
      await using listener = await listen(LOCALHOST);
      await withPool(async (pool) => {
        pool.spawn(() =>
          listener.serve(async (stream) => {
            for await (const chunk of stream) {
              await stream.sendAll(`Got: ${text(chunk)}`);
              await stream.sendAll("-> ");
            }
          }),
        );
        await using client = await connect({ hostname: "127.0.0.1", port: listener.port });
        for (let i = 0; i < 50; i++) {
          await client.sendAll(`line ${i}\n`);
          const expected = `Got: line ${i}\n-> `;
          let got = "";
          while (got.length < expected.length) got += text(await client.receive());
          expect(got).toBe(expected);
        }
        pool.cancel();
      });
    });
  }, 10_000);

  test("data written just before a foreign await reaches the peer (no stuck outbox)", async () => {
    await run(async () => {
      await using listener = await listen(LOCALHOST);
      await withPool(async (pool) => {
        const received = Promise.withResolvers<string>();
        pool.spawn(async () => {
          await using server = await listener.accept();
          received.resolve(text(await server.receiveExactly(2)));
        });
        await using client = await connect({ hostname: "127.0.0.1", port: listener.port });
        await client.sendAll("a");
        await client.sendAll("b");
        // If the two bytes stayed in the outbox until this step ends, this would hang.
        expect(await received.promise).toBe("ab");
      });
    });
  }, 5000);

  test("a FIN follows the coalesced data", async () => {
    await run(async () => {
      await using listener = await listen(LOCALHOST);
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await using server = await listener.accept();
          await server.sendAll("one ");
          await server.sendAll("two ");
          await server.sendAll("three");
          await server.sendEof();
        });
        await using client = await connect({ hostname: "127.0.0.1", port: listener.port });
        expect(text(await readAll(client))).toBe("one two three");
      });
    });
  }, 5000);
});
