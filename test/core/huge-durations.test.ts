/**
 * Huge durations ("no timeout" written as Number.MAX_SAFE_INTEGER, 2**53, 2**40) must not make
 * the loop re-arm Bun's timer in a spin: Bun turns a delay above 2**31 − 1 ms into 1 ms and
 * prints a TimeoutOverflowWarning each time. Every delay the loop arms stays within the limit,
 * and the loop arms a handful of timers, not hundreds.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import {
  run,
  Scheduler,
  skipAfter,
  sleep,
  TooSlowError,
  until,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { runBun } from "../support/run-bun.ts";

const MAX_DELAY = 2 ** 31 - 1;

function spyOnTimers() {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  const spy = spyOn(globalThis, "setTimeout").mockImplementation(((
    callback: () => void,
    delay?: number,
  ) => {
    delays.push(delay ?? 0);
    return original(callback, delay);
  }) as typeof setTimeout);
  return { delays, spy };
}

let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

describe("huge durations", () => {
  test("sleep(2**53) sleeps until cancelled, arming no timer for it", async () => {
    const { delays, spy } = spyOnTimers();
    restore = () => spy.mockRestore();
    const skipped = await run(() => skipAfter(30, () => sleep(2 ** 53)));
    expect(skipped).toBeUndefined();
    expect(delays.every((delay) => delay <= MAX_DELAY)).toBe(true);
    // The 30 ms deadline, maybe re-armed once or twice when the timer fires a little early.
    expect(delays.length).toBeLessThan(10);
  });

  test("withTimeout(Number.MAX_SAFE_INTEGER) is no timeout at all", async () => {
    const { delays, spy } = spyOnTimers();
    restore = () => spy.mockRestore();
    const value = await run(() =>
      withTimeout(Number.MAX_SAFE_INTEGER, async () => {
        await sleep(30);
        return "done";
      }),
    );
    expect(value).toBe("done");
    expect(delays.every((delay) => delay <= MAX_DELAY)).toBe(true);
    expect(delays.length).toBeLessThan(10);
  });

  test("skipAfter(2**53) and withPool({ timeout: 2**40 }) arm at most 2**31 − 1 ms, without a spin", async () => {
    const { delays, spy } = spyOnTimers();
    restore = () => spy.mockRestore();
    await run(async () => {
      expect(await skipAfter(2 ** 53, () => sleep(20).then(() => 1))).toBe(1);
      // 2**40 ms (34 years) is a real deadline: armed, but capped to Bun's limit.
      // Waiting on I/O (Bun.sleep stands for it), so the deadline is the only timer armed.
      expect(await withPool(() => until(Bun.sleep(20)).then(() => 2), { timeout: 2 ** 40 })).toBe(
        2,
      );
    });
    expect(delays.every((delay) => delay <= MAX_DELAY)).toBe(true);
    expect(delays).toContain(MAX_DELAY);
    // A spin would re-arm about 850 times a second (40 ms here: ~35 arms).
    expect(delays.length).toBeLessThan(10);
  });

  test("a far deadline still fires once its time comes (mock clock)", async () => {
    const { MockClock } = await import("../../src/index.ts");
    const clock = new MockClock({ autojump: true });
    const outcome = new Scheduler({ clock }).run(() => withTimeout(2 ** 40, () => sleep(2 ** 41)));
    await expect(outcome).rejects.toBeInstanceOf(TooSlowError);
    expect(clock.now()).toBe(2 ** 40);
  });

  test("no TimeoutOverflowWarning is printed (subprocess)", async () => {
    const source = `
      import { run, skipAfter, sleep, withPool, withTimeout } from ${JSON.stringify(new URL("../../src/index.ts", import.meta.url).pathname)};
      await run(async () => {
        await skipAfter(40, () => sleep(2 ** 53));
        await skipAfter(40, () => withTimeout(Number.MAX_SAFE_INTEGER, () => sleep(2 ** 53)));
        await skipAfter(40, () => withPool(() => sleep(2 ** 53), { timeout: 2 ** 40 }));
      });
      console.log("ok");
    `;
    const { stdout, stderr, status: code } = await runBun(["-e", source]);
    expect(stderr).not.toContain("TimeoutOverflowWarning");
    expect(stderr).toBe("");
    expect(stdout.trim()).toBe("ok");
    expect(code).toBe(0);
  });
});
