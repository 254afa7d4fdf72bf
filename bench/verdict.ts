/**
 * Whether a row meets its target, in a way that does not flip from run to run: a verdict is
 * given only when the measurement can support it.
 *
 * A row measured in several rounds is judged round by round. `met` when every round meets
 * the target (and so does the row's median figure), `MISSED` when none does (nor the
 * median), and `within noise` when they disagree, or when the rounds of what the target
 * bounds (the ratio, or `ours` for an absolute target) are spread wider than the row's
 * tolerance: a measurement that noisy cannot tell a few per cent either way.
 * A row without rounds is judged on its figures alone.
 */
import { type Row, ratioOf, type Target } from "./harness.ts";
import { DEFAULT_TOLERANCE } from "./regression.ts";

export type TargetVerdict = "met" | "MISSED" | "within noise";

/**
 * How far apart the rounds' ratios are: (max − min) / median, so 0.1 means the rounds span
 * 10% of the typical ratio. 0 for a row with fewer than two rounds.
 */
export function spreadOf(row: Row): number {
  return relativeSpread(roundRatios(row));
}

/** The spread of what `target` bounds: the ratio, `ours`, or the wider of the two. */
function targetSpread(row: Row, target: Target): number {
  const ratio = target.ratio === undefined ? 0 : spreadOf(row);
  const ours = target.ours === undefined ? 0 : relativeSpread(row.rounds?.ours ?? []);
  return Math.max(ratio, ours);
}

/** (max − min) / median of `values`; 0 for fewer than two. */
function relativeSpread(values: number[]): number {
  if (values.length < 2) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const typical =
    sorted.length % 2
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return ((sorted[sorted.length - 1] as number) - (sorted[0] as number)) / typical;
}

/** The row's verdict on its target, or undefined when it has none. */
export function judgeTarget(row: Row): TargetVerdict | undefined {
  const target = row.target;
  if (target === undefined) return undefined;
  const medianMet = meets(target, ratioOf(row), row.ours);
  const rounds = row.rounds;
  if (rounds === undefined || rounds.ours.length < 2) return medianMet ? "met" : "MISSED";
  if (targetSpread(row, target) > (row.tolerance ?? DEFAULT_TOLERANCE)) return "within noise";
  const ratios = roundRatios(row);
  const met = ratios.filter((ratio, i) => meets(target, ratio, rounds.ours[i] as number)).length;
  if (met === ratios.length && medianMet) return "met";
  if (met === 0 && !medianMet) return "MISSED";
  return "within noise";
}

function meets(target: Target, ratio: number, ours: number): boolean {
  return (
    (target.ratio === undefined || ratio <= target.ratio) &&
    (target.ours === undefined || ours <= target.ours)
  );
}

function roundRatios(row: Row): number[] {
  const rounds = row.rounds;
  if (rounds === undefined) return [];
  if (rounds.ours.length !== rounds.baseline.length) {
    throw new Error(
      `row '${row.operation}' has ${rounds.ours.length} rounds of ours but ${rounds.baseline.length} of baseline`,
    );
  }
  return rounds.ours.map((ours, i) => ours / (rounds.baseline[i] as number));
}
