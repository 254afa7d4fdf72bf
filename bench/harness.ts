/**
 * The shape every benchmark file shares. A file `bench/<topic>.bench.ts` exports
 * `suite: Suite`; `bench/index.ts` runs every suite, prints one table and tracks the ratios
 * against `bench/baseline.json`.
 *
 * Every row pairs one of our operations with the cheapest hand-written equivalent measured
 * in the same process and run, so the ratio stays meaningful on a noisy 2-core machine even
 * when absolute numbers drift.
 */
import { measure } from "mitata";

/** One measured operation: lower is better for both numbers. */
export interface Row {
  /** Stable identifier, used as the key in results and baseline JSON. */
  operation: string;
  /** What one unit is, e.g. "ns/task", "ns/switch", "µs CPU/msg". */
  unit: string;
  ours: number;
  baseline: number;
}

export interface SuiteOptions {
  /** Smaller sizes and shorter runs (used by `--quick` and the smoke test). */
  quick: boolean;
}

export interface Suite {
  name: string;
  run(options: SuiteOptions): Promise<Row[]>;
}

export interface Comparison {
  operation: string;
  /** How many units one call of `ours`/`baseline` performs (e.g. 10_000 tasks). */
  unitsPerCall: number;
  /** Unit label for ns per unit, e.g. "ns/task". */
  unit: string;
  ours: () => unknown;
  baseline: () => unknown;
}

/**
 * Measures both sides with mitata (alternating, so drift hits both alike) and returns ns per
 * unit of each, from the median of the samples.
 */
export async function compare(c: Comparison, options: SuiteOptions): Promise<Row> {
  const opts = options.quick
    ? { min_cpu_time: 50e6, max_samples: 200 }
    : { min_cpu_time: 500e6, max_samples: 2_000 };
  const oursRuns: number[] = [];
  const baselineRuns: number[] = [];
  const rounds = options.quick ? 1 : 3;
  for (let round = 0; round < rounds; round++) {
    baselineRuns.push((await measure(c.baseline, opts)).p50);
    oursRuns.push((await measure(c.ours, opts)).p50);
  }
  return {
    operation: c.operation,
    unit: c.unit,
    ours: median(oursRuns) / c.unitsPerCall,
    baseline: median(baselineRuns) / c.unitsPerCall,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
