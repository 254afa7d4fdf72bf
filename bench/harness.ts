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
  /** The goal this row is held to, shown in the table (not used by `--check`). */
  target?: Target;
  /**
   * How much the ratio may grow over `bench/baseline.json` before `--check` calls it a
   * regression (0.25 = 25%). Only for rows known to be noisier than the default allows.
   */
  tolerance?: number;
}

/** A goal for one row; each bound given is an upper limit. */
export interface Target {
  /** At most this `ours / baseline`. */
  ratio?: number;
  /** At most this much of `ours`, in the row's unit. */
  ours?: number;
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
  /** Copied to the row. */
  target?: Target;
  /** Copied to the row. */
  tolerance?: number;
}

/**
 * Measures both sides with mitata and returns ns per unit of each: the median over several
 * rounds of each round's median sample. Rounds are short and alternate which side goes first,
 * so a burst of load from another process, or drift, hits both sides alike instead of
 * skewing one.
 */
export async function compare(c: Comparison, options: SuiteOptions): Promise<Row> {
  const rounds = options.quick ? 1 : 5;
  // Calls of the big workloads take 100+ ms; a few samples per round keep a full run short,
  // and the rounds add up to enough of them.
  const opts = options.quick
    ? { min_cpu_time: 20e6, min_samples: 3, max_samples: 200 }
    : { min_cpu_time: 200e6, min_samples: 6, max_samples: 2_000 };
  const oursRuns: number[] = [];
  const baselineRuns: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      baselineRuns.push((await measure(c.baseline, opts)).p50);
      oursRuns.push((await measure(c.ours, opts)).p50);
    } else {
      oursRuns.push((await measure(c.ours, opts)).p50);
      baselineRuns.push((await measure(c.baseline, opts)).p50);
    }
  }
  const row: Row = {
    operation: c.operation,
    unit: c.unit,
    ours: median(oursRuns) / c.unitsPerCall,
    baseline: median(baselineRuns) / c.unitsPerCall,
  };
  if (c.target !== undefined) row.target = c.target;
  if (c.tolerance !== undefined) row.tolerance = c.tolerance;
  return row;
}

/** `ours / baseline`: how many times the hand-written equivalent's cost ours is. */
export function ratioOf(row: Row): number {
  return row.ours / row.baseline;
}

/** The median of `values` (left unmodified). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
