/**
 * The loop's deadlock detection sees tasks blocked on synchronization primitives: when every
 * task waits on one, `run` rejects with a GiambioError naming each task and what it waits on,
 * and the unwinding leaves no waiter behind.
 */
import { describe, expect, test } from "bun:test";
import {
  Event,
  GiambioError,
  Lock,
  openMemoryChannel,
  Queue,
  run,
  Semaphore,
  sleep,
  withPool,
} from "../../src/index.ts";

async function deadlockReport(main: () => Promise<unknown>): Promise<string> {
  const error = await run(main).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GiambioError);
  const message = (error as Error).message;
  expect(message).toStartWith("deadlock:");
  return message;
}

describe("deadlock detection on synchronization primitives", () => {
  test("a task waiting on an Event nobody will set", async () => {
    const event = new Event();
    const message = await deadlockReport(() => event.wait());
    expect(message).toContain("'main' waits on Event.wait()");
    expect(event.statistics().tasksWaiting).toBe(0);
  }, 5000);

  test("two tasks taking two locks in opposite order", async () => {
    const first = new Lock();
    const second = new Lock();
    async function take(a: Lock, b: Lock) {
      await a.acquire();
      await sleep(5);
      await b.acquire();
    }
    const message = await deadlockReport(() =>
      withPool(async (pool) => {
        pool.spawnNamed("left", take, first, second);
        pool.spawnNamed("right", take, second, first);
      }),
    );
    expect(message).toContain("'left' waits on Lock.acquire() (held by task 'right')");
    expect(message).toContain("'right' waits on Lock.acquire() (held by task 'left')");
    expect(first.statistics().tasksWaiting).toBe(0);
    expect(second.statistics().tasksWaiting).toBe(0);
  }, 5000);

  test("a lock whose owner ended without releasing it", async () => {
    const lock = new Lock();
    const message = await deadlockReport(async () => {
      await withPool((pool) => {
        pool.spawnNamed("careless", () => lock.acquire());
      });
      await lock.acquire();
    });
    expect(message).toContain(
      "'main' waits on Lock.acquire() (held by task 'careless', which has ended)",
    );
  }, 5000);

  test("a Semaphore with no permit left", async () => {
    const semaphore = new Semaphore(1);
    const message = await deadlockReport(async () => {
      await semaphore.acquire();
      await semaphore.acquire();
    });
    expect(message).toContain("'main' waits on Semaphore.acquire()");
    expect(semaphore.statistics().tasksWaiting).toBe(0);
  }, 5000);

  test("Queue getters on an empty queue and putters on a full one", async () => {
    const empty = new Queue<number>();
    const full = new Queue<number>(1);
    const message = await deadlockReport(() =>
      withPool(async (pool) => {
        pool.spawnNamed("getter", () => empty.get());
        pool.spawnNamed("putter", async () => {
          await full.put(1);
          await full.put(2);
        });
      }),
    );
    expect(message).toContain("'getter' waits on Queue.get() (queue empty)");
    expect(message).toContain("'putter' waits on Queue.put() (queue full, maxsize 1)");
    expect(empty.statistics().tasksWaitingGet).toBe(0);
    expect(full.statistics().tasksWaitingPut).toBe(0);
  }, 5000);

  test("channel receivers and senders whose peers never act", async () => {
    const [send, receive] = openMemoryChannel<number>(0);
    const [otherSend, otherReceive] = openMemoryChannel<number>(0);
    const message = await deadlockReport(() =>
      withPool(async (pool) => {
        pool.spawnNamed("receiver", () => receive.receive());
        pool.spawnNamed("sender", () => otherSend.send(1));
      }),
    );
    expect(message).toContain("'receiver' waits on ReceiveChannel.receive() (channel empty)");
    expect(message).toContain("'sender' waits on SendChannel.send() (channel full, capacity 0)");
    expect(send.statistics().tasksWaitingReceive).toBe(0);
    expect(otherReceive.statistics().tasksWaitingSend).toBe(0);
  }, 5000);
});
