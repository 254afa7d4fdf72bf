/**
 * `bun bench --check`: which operations got slower than the committed baseline.
 *
 * Only ratios are compared (ours / hand-written baseline, both measured in the same run), so
 * a slower or busier machine does not read as a regression. A ratio that grew by more than
 * the tolerance is only a suspect: it is measured again, and reported only if every
 * measurement shows it, since a 2-core machine easily produces one bad sample.
 */
import { type Row, ratioOf } from "./harness.ts";

/** By default a ratio may grow by 25% before it counts as worse (run-to-run noise here). */
export const DEFAULT_TOLERANCE = 0.25;

/** How many times a suspect is measured again before it is reported. */
export const DEFAULT_REMEASURE_ATTEMPTS = 2;

/**
 * `worse`/`better`: the ratio moved by more than the tolerance; `new`: no baseline for it.
 */
export type Status = "ok" | "better" | "worse" | "new";

export interface Verdict {
  operation: string;
  ratio: number;
  /** The committed ratio, undefined for a new operation. */
  baselineRatio: number | undefined;
  /** Relative change of the ratio: 0.3 = 30% worse, -0.2 = 20% better; 0 when new. */
  change: number;
  tolerance: number;
  status: Status;
}

/** Judges each row's ratio against `baseline` (operation → committed ratio). */
export function judge(
  rows: readonly Row[],
  baseline: Readonly<Record<string, number>>,
  defaultTolerance: number,
): Verdict[] {
  return rows.map((row) => {
    const ratio = ratioOf(row);
    const tolerance = row.tolerance ?? defaultTolerance;
    const baselineRatio = Object.hasOwn(baseline, row.operation)
      ? baseline[row.operation]
      : undefined;
    if (baselineRatio === undefined) {
      return {
        operation: row.operation,
        ratio,
        baselineRatio,
        change: 0,
        tolerance,
        status: "new",
      };
    }
    const change = ratio / baselineRatio - 1;
    const status = change > tolerance ? "worse" : change < -tolerance ? "better" : "ok";
    return { operation: row.operation, ratio, baselineRatio, change, tolerance, status };
  });
}

export interface CheckOptions<R extends Row> {
  tolerance: number;
  /** Re-measurements of the suspects before reporting them. */
  attempts: number;
  /** Measures the named operations again; returns a row for each (others are ignored). */
  remeasure(operations: string[]): Promise<R[]>;
}

export interface CheckResult<R extends Row> {
  /** The rows judged last: for each suspect, its best measurement. */
  rows: R[];
  verdicts: Verdict[];
  /** The operations worse in every measurement. */
  regressions: Verdict[];
  /** Every operation that was measured again, in order of first suspicion. */
  remeasured: string[];
}

/**
 * Compares `rows` with `baseline`; re-measures the operations that look worse, up to
 * `attempts` times, keeping each one's best ratio, and reports those still worse.
 */
export async function checkRegressions<R extends Row>(
  rows: readonly R[],
  baseline: Readonly<Record<string, number>>,
  options: CheckOptions<R>,
): Promise<CheckResult<R>> {
  let current = [...rows];
  const remeasured: string[] = [];
  let verdicts = judge(current, baseline, options.tolerance);
  for (let attempt = 0; attempt < options.attempts; attempt++) {
    const suspects = worse(verdicts).map((verdict) => verdict.operation);
    if (suspects.length === 0) break;
    for (const operation of suspects)
      if (!remeasured.includes(operation)) remeasured.push(operation);
    current = keepBetter(current, await options.remeasure(suspects), suspects);
    verdicts = judge(current, baseline, options.tolerance);
  }
  return { rows: current, verdicts, regressions: worse(verdicts), remeasured };
}

function worse(verdicts: readonly Verdict[]): Verdict[] {
  return verdicts.filter((verdict) => verdict.status === "worse");
}

/** `rows` with each of `operations` replaced by its measurement in `again` if that is better. */
function keepBetter<R extends Row>(
  rows: readonly R[],
  again: readonly R[],
  operations: string[],
): R[] {
  return rows.map((row) => {
    if (!operations.includes(row.operation)) return row;
    const other = again.find((candidate) => candidate.operation === row.operation);
    return other !== undefined && ratioOf(other) < ratioOf(row) ? other : row;
  });
}
