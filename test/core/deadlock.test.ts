/**
 * Deadlock detection: when every task waits on something only another task could provide
 * (no timer pending, no I/O, no until in flight), the tree is cancelled and run rejects with
 * a GiambioError naming each task and what it waits on, and the unwinding leaves no waiter
 * behind. Also under a mock clock, in manual mode, and for tasks blocked on the
 * synchronization primitives; never while a timer or a foreign promise can still wake one.
 */
import { describe, expect, test } from "bun:test";
import {
  Event,
  GiambioError,
  Lock,
  MockClock,
  openMemoryChannel,
  Queue,
  run,
  Scheduler,
  Semaphore,
  shield,
  sleep,
  sleepForever,
  type Task,
  until,
  withPool,
} from "../../src/index.ts";
import { within } from "../support/within.ts";

const runWith = <T>(clock: MockClock, main: () => Promise<T>) =>
  new Scheduler({ clock, handleSignals: false }).run(main);

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

describe("deadlock detection", () => {
  test("every task blocked on another task: run rejects naming each blocked task", async () => {
    const cleanups: string[] = [];
    const error = await run(async function main() {
      await withPool(async (pool) => {
        const sleeper = pool.spawn(async function sleeper() {
          try {
            await sleepForever();
          } finally {
            cleanups.push("sleeper");
          }
        });
        pool.spawn(async function joiner() {
          try {
            await sleeper.join();
          } finally {
            cleanups.push("joiner");
          }
        });
      });
    }).catch((e) => e);
    expect(error).toBeInstanceOf(GiambioError);
    const message = (error as Error).message;
    expect(message).toStartWith("deadlock: every task is blocked");
    expect(message).toContain("'joiner' waits on join() of task 'sleeper'");
    expect(message).toContain("'sleeper' waits on sleepForever()");
    expect(message).toContain("'main' waits on its pool's children ('sleeper', 'joiner')");
    // Every finally ran: the tree was cancelled before run rejected.
    expect(cleanups.sort()).toEqual(["joiner", "sleeper"]);
  });

  test("main alone sleeping forever is a deadlock, not a silent exit", async () => {
    await expect(run(() => sleepForever())).rejects.toThrow("'main' waits on sleepForever()");
  });

  test("a deadlock in the unwinding itself still ends the run", async () => {
    const outcome = run(async () => {
      try {
        await sleepForever();
      } finally {
        // The cleanup blocks again where cancellation cannot reach.
        await shield(() => sleepForever());
      }
    });
    const error = await within(2000, "the deadlocked unwinding never ended the run", outcome).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(GiambioError);
    expect((error as Error).message).toContain("'main' waits on sleepForever()");
  });

  test("no false alarm while a timer or until() is pending", async () => {
    const done: string[] = [];
    // A false deadlock alarm rejects the run; a missed wake-up would hang it.
    await within(
      2000,
      "the run waiting on a timer and an until() never finished",
      run(async () => {
        await withPool(async (pool) => {
          let release: Task | undefined;
          pool.spawn(async () => {
            release = pool.spawn(() => sleep(30));
            await release.join();
            done.push("joined the sleeper");
          });
          await until(new Promise((resolve) => setTimeout(resolve, 20)));
          done.push("until resolved");
          await sleep(5);
          done.push("slept");
        });
      }),
    );
    // Only main's own steps are ordered: a loaded machine can stall the loop past the 30 ms
    // sleeper's deadline before main's 5 ms sleep ends, so the join may come first.
    expect(done.filter((step) => step !== "joined the sleeper")).toEqual([
      "until resolved",
      "slept",
    ]);
    expect(done).toContain("joined the sleeper");
    expect(done).toHaveLength(3);
  });

  test("a deadlock is still reported under a mock clock", async () => {
    await expect(runWith(new MockClock({ autojump: true }), () => sleepForever())).rejects.toThrow(
      "deadlock",
    );
  });

  test("a deadlock surfaces through the ticks and the root task", async () => {
    const scheduler = new Scheduler({ handleSignals: false });
    const main = scheduler.start(() => sleepForever());
    while (await scheduler.tick());
    expect(main.state).toBe("failed");
    expect(main.error).toBeInstanceOf(GiambioError);
    expect(String(main.error)).toContain("deadlock");
  });
});

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
