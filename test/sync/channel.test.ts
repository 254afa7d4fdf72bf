import { describe, expect, test } from "bun:test";
import {
  BrokenResourceError,
  CancelledError,
  checkpoint,
  EndOfChannel,
  MockClock,
  openMemoryChannel,
  ResourceClosedError,
  run,
  Scheduler,
  skipAfter,
  sleep,
  TooSlowError,
  WouldBlock,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { Log } from "../support/timeline.ts";

/** giambio's scripts count in seconds: one of their seconds is this many ms in the tests ported from them. */
const SCRIPT_SECOND = 25;

/** Runs `fn` and returns what it threw (or its value), so a child's failure does not crash the pool. */
async function outcome(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn();
  } catch (error) {
    return error;
  }
}

describe("openMemoryChannel", () => {
  test("items are received in the order they were sent", async () => {
    const [send, receive] = openMemoryChannel<number>(Number.POSITIVE_INFINITY);
    const got = await run(async () => {
      for (let i = 0; i < 5; i++) await send.send(i);
      send.close();
      const items: number[] = [];
      for await (const item of receive) items.push(item);
      return items;
    });
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  test("bad capacity → clear errors", () => {
    expect(() => openMemoryChannel(-1)).toThrow(
      "openMemoryChannel(capacity) must be an integer >= 0 or Infinity, got -1",
    );
    expect(() => openMemoryChannel(0.5)).toThrow(RangeError);
    expect(() => openMemoryChannel(Number.NaN)).toThrow(RangeError);
    // @ts-expect-error a deliberately bad argument
    expect(() => openMemoryChannel()).toThrow(TypeError);
    // @ts-expect-error a deliberately bad argument
    expect(() => openMemoryChannel("2")).toThrow(
      'openMemoryChannel(capacity) must be an integer >= 0 or Infinity, got "2"',
    );
  });

  test("statistics() reports trio's fields, the same from both ends", async () => {
    const [send, receive] = openMemoryChannel<number>(2);
    await run(async () => {
      await send.send(1);
      const clone = receive.clone();
      const expected = {
        currentBufferUsed: 1,
        maxBufferSize: 2,
        openSendChannels: 1,
        openReceiveChannels: 2,
        tasksWaitingSend: 0,
        tasksWaitingReceive: 0,
      };
      expect(send.statistics()).toEqual(expected);
      expect(clone.statistics()).toEqual(expected);
      clone.close();
      await withPool(async (pool) => {
        await send.send(2);
        pool.spawn(() => send.send(3));
        expect(receive.statistics().tasksWaitingSend).toBe(1);
        expect(receive.statistics().currentBufferUsed).toBe(2);
        expect(await receive.receive()).toBe(1);
      });
    });
  });

  describe("capacity 0: rendezvous", () => {
    test("send() completes only when a receiver takes the item", async () => {
      const [send, receive] = openMemoryChannel<string>(0);
      const log: string[] = [];
      await run(async () => {
        await withPool(async (pool) => {
          pool.spawn(async () => {
            await send.send("x");
            log.push("send returned");
          });
          expect(send.statistics().tasksWaitingSend).toBe(1);
          expect(send.statistics().currentBufferUsed).toBe(0);
          await sleep(10);
          log.push(`received ${await receive.receive()}`);
        });
      });
      expect(log).toEqual(["received x", "send returned"]);
    }, 5000);

    test("a waiting receiver gets the item straight from send()", async () => {
      const [send, receive] = openMemoryChannel<string>(0);
      await run(async () => {
        await withPool(async (pool) => {
          const receiver = pool.spawn(() => receive.receive());
          await send.send("y");
          expect(await receiver.join()).toBe("y");
        });
      });
    });

    test("trySend() works only with a waiting receiver; tryReceive() only with a waiting sender", async () => {
      const [send, receive] = openMemoryChannel<string>(0);
      expect(() => send.trySend("a")).toThrow(WouldBlock);
      expect(() => send.trySend("a")).toThrow(
        'SendChannel.trySend("a"): the channel is full (capacity 0) and no task is waiting to receive',
      );
      expect(() => receive.tryReceive()).toThrow(WouldBlock);
      await run(async () => {
        await withPool(async (pool) => {
          const receiver = pool.spawn(() => receive.receive());
          send.trySend("b");
          expect(await receiver.join()).toBe("b");
          const sender = pool.spawn(() => send.send("c"));
          expect(receive.tryReceive()).toBe("c");
          await sender.join();
        });
      });
    });
  });

  test("trySend() buffers while there is room, then throws WouldBlock and sends nothing", () => {
    const [send, receive] = openMemoryChannel<number>(2);
    send.trySend(1);
    send.trySend(2);
    expect(() => send.trySend(3)).toThrow(WouldBlock);
    expect(receive.tryReceive()).toBe(1);
    expect(receive.tryReceive()).toBe(2);
    expect(() => receive.tryReceive()).toThrow(
      "ReceiveChannel.tryReceive(): the channel is empty and no task is waiting to send",
    );
  });

  test("send() waits while the buffer is full, in FIFO order", async () => {
    const [send, receive] = openMemoryChannel<number>(1);
    const got: number[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        for (let i = 0; i < 20; i++) pool.spawn(() => send.send(i));
        expect(send.statistics().tasksWaitingSend).toBe(19);
        for (let i = 0; i < 20; i++) got.push(await receive.receive());
      });
    });
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  test("receivers are served in the order they started waiting", async () => {
    const [send, receive] = openMemoryChannel<number>(0);
    const got: string[] = [];
    await run(async () => {
      await withPool(async (pool) => {
        for (let r = 0; r < 20; r++) {
          pool.spawn(async () => got.push(`${r}:${await receive.receive()}`));
        }
        for (let i = 0; i < 20; i++) await send.send(i);
      });
    });
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `${i}:${i}`));
  });

  describe("closing", () => {
    test("after every sender closes, receivers drain the buffer, then get EndOfChannel", async () => {
      const [send, receive] = openMemoryChannel<number>(5);
      const clone = send.clone();
      await run(async () => {
        await send.send(1);
        await clone.send(2);
        send.close();
        expect(receive.statistics().openSendChannels).toBe(1);
        await clone.send(3);
        clone.close();
        expect(await receive.receive()).toBe(1);
        expect(receive.tryReceive()).toBe(2);
        expect(await receive.receive()).toBe(3);
        await expect(receive.receive()).rejects.toBeInstanceOf(EndOfChannel);
        expect(() => receive.tryReceive()).toThrow(EndOfChannel);
        expect(() => receive.tryReceive()).toThrow(
          "ReceiveChannel.tryReceive(): every send end of the channel is closed and its buffer is drained",
        );
      });
    });

    test("blocked receivers get EndOfChannel when the last sender clone closes, not before", async () => {
      const [send, receive] = openMemoryChannel<number>(0);
      const clone = send.clone();
      const outcomes: string[] = [];
      await run(async () => {
        await withPool(async (pool) => {
          for (const name of ["a", "b"]) {
            pool.spawn(async () => {
              try {
                await receive.receive();
              } catch (error) {
                outcomes.push(`${name}: ${(error as Error).name}`);
              }
            });
          }
          send.close();
          await checkpoint();
          expect(outcomes).toEqual([]);
          expect(receive.statistics().tasksWaitingReceive).toBe(2);
          clone.close();
        });
      });
      expect(outcomes).toEqual(["a: EndOfChannel", "b: EndOfChannel"]);
      expect(receive.statistics().tasksWaitingReceive).toBe(0);
    });

    test("for await on a receive end ends when the senders are done", async () => {
      const [send, receive] = openMemoryChannel<number>(0);
      const got: number[] = [];
      await run(async () => {
        await withPool(async (pool) => {
          pool.spawn(async () => {
            using sender = send;
            for (let i = 0; i < 3; i++) await sender.send(i);
          });
          for await (const item of receive) got.push(item);
        });
      });
      expect(got).toEqual([0, 1, 2]);
    });

    test("send after every receiver closed → BrokenResourceError; blocked senders get it too", async () => {
      const [send, receive] = openMemoryChannel<string>(1);
      const clone = receive.clone();
      await run(async () => {
        await withPool(async (pool) => {
          await send.send("buffered");
          const blocked = pool.spawn(() => outcome(() => send.send("blocked")));
          receive.close();
          await checkpoint();
          expect(blocked.state).toBe("running"); // a receive end is still open
          clone.close();
          expect(await blocked.join()).toBeInstanceOf(BrokenResourceError);
          expect(send.statistics().currentBufferUsed).toBe(0); // nobody can receive it any more
          await expect(send.send("late")).rejects.toThrow(
            'SendChannel.send("late"): every receive end of the channel is closed; nobody can receive it',
          );
          expect(() => send.trySend("late")).toThrow(BrokenResourceError);
        });
      });
    });

    test("use of a closed end → ResourceClosedError; other clones keep working", async () => {
      const [send, receive] = openMemoryChannel<number>(5);
      const sendClone = send.clone();
      const receiveClone = receive.clone();
      send.close();
      receive.close();
      await run(async () => {
        await expect(send.send(1)).rejects.toThrow("SendChannel.send(1): this send end is closed");
        expect(() => send.trySend(1)).toThrow(ResourceClosedError);
        expect(() => send.clone()).toThrow(ResourceClosedError);
        await expect(receive.receive()).rejects.toBeInstanceOf(ResourceClosedError);
        expect(() => receive.tryReceive()).toThrow(
          "ReceiveChannel.tryReceive(): this receive end is closed",
        );
        expect(() => receive.clone()).toThrow(ResourceClosedError);
        await sendClone.send(2);
        expect(await receiveClone.receive()).toBe(2);
      });
    });

    test("closing an end wakes only the tasks blocked on that end, with ResourceClosedError", async () => {
      const [send, receive] = openMemoryChannel<string>(0);
      const other = receive.clone();
      await run(async () => {
        await withPool(async (pool) => {
          const onReceive = pool.spawn(() => outcome(() => receive.receive()));
          const onOther = pool.spawn(() => other.receive());
          receive.close();
          const error = await onReceive.join();
          expect(error).toBeInstanceOf(ResourceClosedError);
          expect((error as Error).message).toBe(
            "ReceiveChannel.receive(): this receive end was closed while waiting",
          );
          expect(onOther.state).toBe("running");
          await send.send("still delivered");
          expect(await onOther.join()).toBe("still delivered");

          const sendClone = send.clone();
          const blockedSend = pool.spawn(() => outcome(() => send.send("dropped")));
          const blockedClone = pool.spawn(() => sendClone.send("kept"));
          send.close();
          expect(await blockedSend.join()).toBeInstanceOf(ResourceClosedError);
          expect(await other.receive()).toBe("kept");
          await blockedClone.join();
        });
      });
    });

    test("close() is idempotent and `using` closes the end", async () => {
      const [send, receive] = openMemoryChannel<number>(1);
      send.close();
      send.close();
      expect(receive.statistics().openSendChannels).toBe(0);
      {
        using clone = receive.clone();
        expect(clone.statistics().openReceiveChannels).toBe(2);
      }
      expect(receive.statistics().openReceiveChannels).toBe(1);
    });
  });

  describe("cancellation", () => {
    test("a cancelled sender's item is never delivered, and it leaves the queue", async () => {
      const [send, receive] = openMemoryChannel<string>(0);
      await run(async () => {
        await withPool(async (pool) => {
          const doomed = pool.spawn(() => send.send("never"));
          pool.spawn(() => send.send("delivered"));
          doomed.cancel();
          await checkpoint();
          expect(doomed.error).toBeInstanceOf(CancelledError);
          expect(send.statistics().tasksWaitingSend).toBe(1);
          expect(await receive.receive()).toBe("delivered");
          expect(() => receive.tryReceive()).toThrow(WouldBlock);
        });
      });
      expect(send.statistics().tasksWaitingSend).toBe(0);
    });

    test("a cancelled receiver takes nothing: the next receiver gets the item", async () => {
      const [send, receive] = openMemoryChannel<string>(0);
      let got: string | undefined;
      await run(async () => {
        await withPool(async (pool) => {
          const doomed = pool.spawn(() => receive.receive());
          pool.spawn(async () => {
            got = await receive.receive();
          });
          doomed.cancel();
          await checkpoint();
          await send.send("item");
        });
      });
      expect(got).toBe("item");
      expect(receive.statistics().tasksWaitingReceive).toBe(0);
    });

    test("send() and receive() in a cancelled scope → CancelledError, nothing moves", async () => {
      const [send, receive] = openMemoryChannel<number>(5);
      await run(async () => {
        await send.send(1);
        await withPool(async (pool) => {
          pool.cancel();
          await expect(send.send(2)).rejects.toBeInstanceOf(CancelledError);
          await expect(receive.receive()).rejects.toBeInstanceOf(CancelledError);
        });
        expect(send.statistics().currentBufferUsed).toBe(1);
      });
    });

    test("send() and receive() under withTimeout/skipAfter give up and leave no waiter", async () => {
      const [send, receive] = openMemoryChannel<number>(0);
      await run(async () => {
        await expect(withTimeout(15, () => receive.receive())).rejects.toBeInstanceOf(TooSlowError);
        expect(await skipAfter(15, () => send.send(1))).toBeUndefined();
      });
      expect(send.statistics()).toMatchObject({ tasksWaitingSend: 0, tasksWaitingReceive: 0 });
    }, 5000);
  });

  // Port of giambio's tests/memory_channel.py (github.com/nocturn9x/giambio).
  test("capacity 2: the sender finishes early, the receiver drains", async () => {
    // Virtual time: the interleaving of equal deadlines must not depend on the machine's load.
    const clock = new MockClock({ autojump: true });
    const log = new Log(SCRIPT_SECOND, () => clock.now());
    const [send, receive] = openMemoryChannel<string>(2);
    await new Scheduler({ clock, handleSignals: false }).run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          for (let i = 0; i < 5; i++) {
            await send.send(String(i));
            log.push(`sent ${i}`);
          }
          send.close();
          log.push("sender done");
        });
        pool.spawn(async () => {
          // The script's loop: read until the channel is closed and drained.
          while (true) {
            let item: string;
            try {
              item = await receive.receive();
            } catch (error) {
              if (error instanceof EndOfChannel) break;
              throw error;
            }
            log.push(`received ${item}`);
            await sleep(SCRIPT_SECOND);
          }
          log.push("receiver done");
        });
      });
    });
    expect(log.labels).toEqual([
      "sent 0",
      "received 0",
      "sent 1",
      "sent 2",
      "received 1",
      "sent 3",
      "received 2",
      "sent 4",
      "sender done",
      "received 3",
      "received 4",
      "receiver done",
    ]);
    log.expectAt("sender done", 2);
    log.expectAt("receiver done", 5);
  }, 5000);

  // Port of giambio's tests/task_ipc.py (github.com/nocturn9x/giambio).
  test("three tasks share one channel under skipAfter(6); sends and receives alternate", async () => {
    // Virtual time: the interleaving of equal deadlines must not depend on the machine's load.
    const clock = new MockClock({ autojump: true });
    const log = new Log(SCRIPT_SECOND, () => clock.now());
    const sent: string[] = [];
    const received: string[] = [];
    const [send, receive] = openMemoryChannel<string>(Number.POSITIVE_INFINITY);
    let serial = 0;
    async function task(name: string) {
      while (true) {
        try {
          const data = receive.tryReceive();
          received.push(data);
          log.push(`${name} received`);
        } catch (error) {
          if (!(error instanceof WouldBlock)) throw error;
          const data = `${name}-${serial++}`;
          log.push(`${name} sending`);
          sent.push(data);
          await send.send(data);
        }
        await sleep(SCRIPT_SECOND);
      }
    }
    const leftovers: string[] = [];
    await new Scheduler({ clock, handleSignals: false }).run(async () => {
      await skipAfter(6 * SCRIPT_SECOND, async (pool) => {
        pool.spawn(task, "one");
        pool.spawn(task, "two");
        pool.spawn(task, "three");
      });
      send.close();
      log.push("channel closed");
      for await (const data of receive) leftovers.push(data);
    });
    const lines = log.labels.slice(0, -1);
    expect(log.labels.at(-1)).toBe("channel closed");
    log.expectAt("channel closed", 6);
    expect(lines.length).toBeGreaterThanOrEqual(15); // about 6 rounds of 3 tasks
    lines.forEach((line, i) => {
      expect(line.endsWith(i % 2 === 0 ? "sending" : "received")).toBe(true);
    });
    // Nothing lost, nothing duplicated, FIFO: what was received, then what was left over,
    // is exactly what was sent.
    expect([...received, ...leftovers]).toEqual(sent);
    expect(() => receive.tryReceive()).toThrow(EndOfChannel);
  }, 5000);
});
