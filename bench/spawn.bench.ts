/**
 * Spawn + join: N trivial tasks in one pool vs `Promise.all` over N calls of an async
 * function, the cheapest hand-written way to start N concurrent things and wait for all.
 *
 * Each `ours` call is one complete `run()`: a real program pays for the loop it starts, and
 * the loop's own setup (a few µs, mostly the SIGINT handler) spread over 10,000 tasks is well
 * under 1% of the figure. A long-lived run shared across calls would need mitata's awaits to
 * happen inside a task, where the loop sees them as foreign promises and schedules extra turns
 * around them, distorting exactly what is measured.
 */
import { run, withPool } from "../src/index.ts";
import { compare, type Row, type Suite, type SuiteOptions } from "./harness.ts";

async function trivial(): Promise<void> {}

function spawnAndJoin(tasks: number): Promise<void> {
  return run(() =>
    withPool((pool) => {
      for (let i = 0; i < tasks; i++) pool.spawn(trivial);
    }),
  );
}

async function promiseAll(tasks: number): Promise<void> {
  const promises = new Array<Promise<void>>(tasks);
  for (let i = 0; i < tasks; i++) promises[i] = trivial();
  await Promise.all(promises);
}

export const suite: Suite = {
  name: "spawn",
  async run(options: SuiteOptions): Promise<Row[]> {
    const sizes = options.quick ? [1_000] : [10_000, 100_000];
    const rows: Row[] = [];
    for (const tasks of sizes) {
      rows.push(
        await compare(
          {
            operation: `spawn+join ${tasks.toLocaleString("en-US")} tasks`,
            unit: "ns/task",
            unitsPerCall: tasks,
            ours: () => spawnAndJoin(tasks),
            baseline: () => promiseAll(tasks),
            target: { ratio: 2 },
          },
          options,
        ),
      );
    }
    return rows;
  },
};
