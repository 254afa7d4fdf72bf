/**
 * One task waiting in turn on several primitives' queues (src/sync/wait-queue.ts): a wait
 * cancelled or refused leaves nothing behind in any queue, and FIFO order holds behind the
 * task's next wait. Written for a trial that reused one queue node per task, which was not
 * kept: it made every task that had ever waited on a primitive 80 bytes bigger.
 */
import { expect, test } from "bun:test";
import {
  checkpoint,
  Event,
  Lock,
  openMemoryChannel,
  run,
  Semaphore,
  sleep,
  TooSlowError,
  withPool,
  withTimeout,
} from "../../src/index.ts";

/** What `promise` rejects with (expect's `.rejects` is not used inside the loop's tasks). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("the promise resolved; a rejection was expected");
}

test("one task waits in turn on a lock, an event, a channel and a semaphore, cancelled in between", async () => {
  const order: string[] = [];
  await run(() =>
    withPool(async (pool) => {
      const lock = new Lock();
      const event = new Event<string>();
      const [send, receive] = openMemoryChannel<string>(0);
      const semaphore = new Semaphore(0, 1);
      await lock.acquire();
      pool.spawn(async () => {
        // Each wait is first cancelled (it leaves the queue by abortWait), then made again.
        expect(await rejection(withTimeout(1, () => lock.acquire()))).toBeInstanceOf(TooSlowError);
        await lock.acquire();
        order.push("lock");
        lock.release();
        expect(await rejection(withTimeout(1, () => event.wait()))).toBeInstanceOf(TooSlowError);
        order.push(`event ${await event.wait()}`);
        expect(await rejection(withTimeout(1, () => send.send("lost")))).toBeInstanceOf(
          TooSlowError,
        );
        await send.send("item");
        order.push("sent");
        expect(await rejection(withTimeout(1, () => semaphore.acquire()))).toBeInstanceOf(
          TooSlowError,
        );
        await semaphore.acquire();
        order.push("semaphore");
      });
      // Another task queues behind the first one's second wait: FIFO order holds.
      pool.spawn(async () => {
        await sleep(5);
        await lock.acquire();
        order.push("lock, second");
        lock.release();
      });
      await sleep(10);
      expect(lock.statistics().tasksWaiting).toBe(2);
      lock.release();
      await sleep(10);
      event.set("set");
      await sleep(10);
      order.push(`received ${await receive.receive()}`);
      await sleep(10);
      semaphore.release();
    }),
  );
  expect(order).toEqual([
    "lock",
    "lock, second",
    "event set",
    "received item",
    "sent",
    "semaphore",
  ]);
});

test("a wait started while the task is queued elsewhere is refused and leaves the first intact", async () => {
  await run(() =>
    withPool(async (pool) => {
      const lock = new Lock();
      const event = new Event<number>();
      await lock.acquire();
      const outcome: string[] = [];
      pool.spawn(async () => {
        const acquiring = lock.acquire();
        expect(String(await rejection(event.wait()))).toContain(
          "already waiting on Lock.acquire()",
        );
        expect(event.statistics().tasksWaiting).toBe(0);
        expect(lock.statistics().tasksWaiting).toBe(1);
        await acquiring;
        outcome.push("acquired");
        lock.release();
        outcome.push(`event ${await event.wait()}`);
      });
      await checkpoint();
      await checkpoint();
      lock.release();
      await checkpoint();
      await checkpoint();
      event.set(5);
      await checkpoint();
      await checkpoint();
      expect(outcome).toEqual(["acquired", "event 5"]);
    }),
  );
});
