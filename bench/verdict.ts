/**
 * Whether a row meets its target, in a way that does not flip from run to run: a verdict is
 * given only when the measurement can support it.
 *
 * A row measured in several rounds is judged on the middle half of its rounds, so that one
 * outlying round (a burst of load on a shared machine) can neither give nor take away a
 * verdict. `met` when the upper quartile of the rounds meets the target (at least three
 * quarters of them do, and so does the row's median figure), `MISSED` when the lower
 * quartile misses it (nor does the median meet it), and `within noise` otherwise, or when
 * what the target bounds (the ratio, or `ours` for an absolute target) spreads wider than
 * the row's tolerance across the middle half of the rounds: a measurement that noisy cannot
 * tell a few per cent either way. A row without rounds is judged on its figures alone.
 */
import { type Row, ratioOf, type Target } from "./harness.ts";
import { DEFAULT_TOLERANCE } from "./regression.ts";

export type TargetVerdict = "met" | "MISSED" | "within noise";

/**
 * How spread out the rounds' ratios are: their interquartile range over their median, so
 * 0.1 means the middle half of the rounds spans 10% of the typical ratio. 0 for a row with
 * fewer than two rounds.
 */
export function spreadOf(row: Row): number {
  return relativeSpread(roundRatios(row));
}

/** The row's verdict on its target, or undefined when it has none. */
export function judgeTarget(row: Row): TargetVerdict | undefined {
  const target = row.target;
  if (target === undefined) return undefined;
  const medianMet = meets(target, ratioOf(row), row.ours);
  const rounds = row.rounds;
  if (rounds === undefined || rounds.ours.length < 2) return medianMet ? "met" : "MISSED";
  if (targetSpread(row, target) > (row.tolerance ?? DEFAULT_TOLERANCE)) return "within noise";
  // The quartiles of each bounded figure: the worse side must meet it for "met", the better
  // side must miss it for "MISSED".
  const ratios = sorted(roundRatios(row));
  const ours = sorted(rounds.ours);
  const upper = meets(target, quantile(ratios, 0.75), quantile(ours, 0.75));
  const lower = meets(target, quantile(ratios, 0.25), quantile(ours, 0.25));
  if (upper && medianMet) return "met";
  if (!lower && !medianMet) return "MISSED";
  return "within noise";
}

/** The spread of what `target` bounds: the ratio, `ours`, or the wider of the two. */
function targetSpread(row: Row, target: Target): number {
  const ratio = target.ratio === undefined ? 0 : spreadOf(row);
  const ours = target.ours === undefined ? 0 : relativeSpread(row.rounds?.ours ?? []);
  return Math.max(ratio, ours);
}

/** Interquartile range / median of `values`; 0 for fewer than two. */
function relativeSpread(values: number[]): number {
  if (values.length < 2) return 0;
  const s = sorted(values);
  return (quantile(s, 0.75) - quantile(s, 0.25)) / quantile(s, 0.5);
}

/** The `q` quantile of ascending `values`, interpolated between neighbours. */
function quantile(values: number[], q: number): number {
  const at = (values.length - 1) * q;
  const below = Math.floor(at);
  const low = values[below] as number;
  const high = values[Math.min(below + 1, values.length - 1)] as number;
  return low + (high - low) * (at - below);
}

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
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
