/**
 * Where the primitives meet the loop's timing: waits that complete without a switch followed
 * by sleeps, and hand-offs that race a deadline.
 */
import { describe, expect, test } from "bun:test";
import {
  Event,
  MockClock,
  openMemoryChannel,
  Scheduler,
  skipAfter,
  sleep,
  withPool,
} from "../../src/index.ts";

describe("primitives and the loop", () => {
  // A spawned consumer whose first receive completes at once goes on outside any step of
  // the loop; its sleep must still arm the timer.
  test("a consumer that sleeps inside `for await` over a channel is woken by its timer", async () => {
    const clock = new MockClock({ autojump: true });
    const [send, receive] = openMemoryChannel<number>(2);
    const got: number[] = [];
    const done = new Scheduler({ clock }).run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          using sender = send;
          for (let i = 0; i < 4; i++) await sender.send(i);
        });
        pool.spawn(async () => {
          for await (const item of receive) {
            got.push(item);
            await sleep(5);
          }
        });
      });
      return "done";
    });
    expect(await done).toBe("done");
    expect(got).toEqual([0, 1, 2, 3]);
  });

  // trio's `cancelled_caught`: a deadline reports a timeout only when its cancellation cut
  // something short; otherwise "not sent" would be a lie and a retry would duplicate.
  test("skipAfter keeps the value of a body whose wait completed before the deadline fired", async () => {
    const clock = new MockClock();
    let result: string | undefined;
    await new Scheduler({ clock }).run(async () => {
      const event = new Event<string>();
      await withPool(async (pool) => {
        pool.spawn(async () => {
          result = await skipAfter(10, () => event.wait());
        });
        event.set("delivered"); // the waiter is woken with the value...
        clock.jump(10); // ...and the deadline passes before it resumes
      });
    });
    expect(result).toBe("delivered");
  });
});
