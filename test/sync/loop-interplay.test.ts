/**
 * Where the primitives meet the loop's timing: waits that complete without a switch followed
 * by sleeps (a hand-off that races a deadline: test/core/deadlines.test.ts).
 */
import { describe, expect, test } from "bun:test";
import { MockClock, openMemoryChannel, Scheduler, sleep, withPool } from "../../src/index.ts";

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
});
