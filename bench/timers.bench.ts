/**
 * Timers: N concurrent sleeps of random 0–10 ms, each in its own task, vs N async functions
 * each awaiting a `setTimeout` promise (Bun's own timer per sleep). Both sides get the same
 * durations, from a seeded generator, so every run measures the same workload.
 *
 * Both sides include starting their N concurrent things (spawn vs async call), as a program
 * that sleeps in N places must; the spawn row reports that part alone. Each `ours` call is one
 * complete `run()`, its setup spread over 100,000 sleeps.
 */
import { run, sleep, withPool } from "../src/index.ts";
import { seededRandom } from "../src/seeded-random.ts";
import { compare, type Row, type Suite, type SuiteOptions } from "./harness.ts";

const MAX_SLEEP_MS = 10;

function randomDurations(count: number): number[] {
  const random = seededRandom(0x9e3779b9);
  return Array.from({ length: count }, () => random() * MAX_SLEEP_MS);
}

async function sleeper(ms: number): Promise<void> {
  await sleep(ms);
}

function concurrentSleeps(durations: number[]): Promise<void> {
  return run(() =>
    withPool((pool) => {
      for (const ms of durations) pool.spawn(sleeper, ms);
    }),
  );
}

async function timeoutSleeper(ms: number): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, ms));
}

async function concurrentTimeouts(durations: number[]): Promise<void> {
  const promises = new Array<Promise<void>>(durations.length);
  for (let i = 0; i < durations.length; i++) promises[i] = timeoutSleeper(durations[i] as number);
  await Promise.all(promises);
}

export const suite: Suite = {
  name: "timers",
  async run(options: SuiteOptions): Promise<Row[]> {
    const count = options.quick ? 10_000 : 100_000;
    const durations = randomDurations(count);
    return [
      await compare(
        {
          operation: `${count.toLocaleString("en-US")} concurrent sleeps 0–${MAX_SLEEP_MS} ms`,
          unit: "ns/sleep",
          unitsPerCall: count,
          ours: () => concurrentSleeps(durations),
          baseline: () => concurrentTimeouts(durations),
          target: { ratio: 1.5 },
        },
        options,
      ),
    ];
  },
};
