/**
 * Deadlines that never fire: `withTimeout` / `skipAfter` around a body that finishes at once
 * vs a plain `await body()`. This is the price every guarded call pays when nothing is slow
 * (open a scope, arm a timer-heap entry, wait for the body, take the entry off, close the
 * scope). The target is absolute: under 1 µs per entry and exit.
 *
 * Each `ours` call is one complete `run()` whose root task enters and leaves the deadline
 * `calls` times in a row; the loop's setup, a few µs, is spread over 50,000 of them. A
 * long-lived run shared across calls would put mitata's own awaits inside a task, where the
 * loop treats them as foreign promises and schedules extra turns around them.
 */
import { run, skipAfter, withTimeout } from "../src/index.ts";
import { compare, type Row, type Suite, type SuiteOptions } from "./harness.ts";

/** Long enough never to fire while the benchmark runs. */
const DEADLINE_MS = 60_000;

async function body(): Promise<number> {
  return 1;
}

async function plainCalls(calls: number): Promise<void> {
  for (let i = 0; i < calls; i++) await body();
}

function guardedCalls(calls: number, guard: typeof withTimeout | typeof skipAfter): Promise<void> {
  return run(async () => {
    for (let i = 0; i < calls; i++) await guard(DEADLINE_MS, body);
  });
}

export const suite: Suite = {
  name: "deadlines",
  async run(options: SuiteOptions): Promise<Row[]> {
    const calls = options.quick ? 1_000 : 50_000;
    const rows: Row[] = [];
    for (const [name, guard] of [
      ["withTimeout", withTimeout],
      ["skipAfter", skipAfter],
    ] as const) {
      rows.push(
        await compare(
          {
            operation: `${name} entry+exit, never fires`,
            unit: "ns/call",
            unitsPerCall: calls,
            ours: () => guardedCalls(calls, guard),
            baseline: () => plainCalls(calls),
            target: { ours: 1_000 },
          },
          options,
        ),
      );
    }
    return rows;
  },
};
