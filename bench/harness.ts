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
  /**
   * Each round's figures (both arrays in round order, as long as each other), for rows
   * measured in several rounds: the table judges the target round by round and says
   * "within noise" when the rounds disagree (see `verdict.ts`).
   */
  rounds?: { ours: number[]; baseline: number[] };
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
 * Measures both sides with mitata and returns ns per unit of each.
 *
 * The clock is the CPU time of the whole process (every thread, so the collector's helper
 * threads count): being descheduled by another process does not count, and garbage left for
 * the concurrent GC does. Each side's figure is the median, over several rounds, of the
 * round's mean sample; the mean, not the median, so that the collections a workload causes
 * in some of its samples are charged to it. Rounds are short and alternate which side goes
 * first, so drift and bursts of load hit both sides alike. A full run first measures each side
 * once and throws that away: the first round of a side otherwise carries the JIT compiling
 * its code, on threads whose CPU time counts (it read up to 1.8× the later rounds).
 */
export async function compare(c: Comparison, options: SuiteOptions): Promise<Row> {
  const rounds = options.quick ? 1 : 5;
  // Calls of the big workloads take 100+ ms; a few samples per round keep a full run short,
  // and the rounds add up to enough of them.
  const opts = options.quick
    ? { now: cpuTime, min_cpu_time: 20e6, min_samples: 3, max_samples: 200 }
    : { now: cpuTime, min_cpu_time: 200e6, min_samples: 6, max_samples: 2_000 };
  const oursRuns: number[] = [];
  const baselineRuns: number[] = [];
  if (!options.quick) {
    await measure(c.baseline, opts);
    await measure(c.ours, opts);
  }
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      baselineRuns.push((await measure(c.baseline, opts)).avg);
      oursRuns.push((await measure(c.ours, opts)).avg);
    } else {
      oursRuns.push((await measure(c.ours, opts)).avg);
      baselineRuns.push((await measure(c.baseline, opts)).avg);
    }
  }
  const perUnit = (runs: number[]) => runs.map((ns) => ns / c.unitsPerCall);
  const row: Row = {
    operation: c.operation,
    unit: c.unit,
    ours: median(oursRuns) / c.unitsPerCall,
    baseline: median(baselineRuns) / c.unitsPerCall,
    rounds: { ours: perUnit(oursRuns), baseline: perUnit(baselineRuns) },
  };
  if (c.target !== undefined) row.target = c.target;
  if (c.tolerance !== undefined) row.tolerance = c.tolerance;
  return row;
}

/**
 * CPU time used by the process so far, in ns (µs resolution; a call costs a few µs, which is
 * why every comparison's calls should take a millisecond or more, or be short enough for
 * mitata to batch them).
 */
function cpuTime(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1e3;
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
