/**
 * Whether a row meets its target, in a way that does not flip from run to run: a verdict is
 * given only when the measurement can support it.
 *
 * A row measured in several rounds is judged on the middle half of its rounds, so that one
 * outlying round (a burst of load on a shared machine) can neither give nor take away a
 * verdict, and the target must clear that middle half by a margin: half its width (the
 * rounds' own spread) plus `DRIFT` of the median, for what moves between runs and that the
 * rounds of one run cannot see (in three runs on a 2-core shared machine, rows whose rounds
 * agreed within 1–5% moved by 9–23% between runs; the margin does not cover that much, and
 * does not need to: a row that drifts across it reads `within noise` in some runs, where
 * without it, it read `met` in one run and `MISSED` in another). `met` when the upper
 * quartile plus that margin meets the target, `MISSED` when the lower quartile minus it
 * misses it, and `within noise` otherwise, or when what the target bounds (the ratio, or
 * `ours` for an absolute target) spreads wider than the row's tolerance across the middle
 * half of the rounds. A row without rounds is judged on its figures alone.
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
  const rounds = row.rounds;
  if (rounds === undefined || rounds.ours.length < 2) {
    return meets(target, ratioOf(row), row.ours) ? "met" : "MISSED";
  }
  if (targetSpread(row, target) > (row.tolerance ?? DEFAULT_TOLERANCE)) return "within noise";
  // Each bounded figure's middle half, widened by the margin: its worse end must meet the
  // target for "met", its better end must miss it for "MISSED".
  const ratios = widenedQuartiles(roundRatios(row));
  const ours = widenedQuartiles(rounds.ours);
  if (meets(target, ratios.high, ours.high)) return "met";
  if (!meets(target, ratios.low, ours.low)) return "MISSED";
  return "within noise";
}

/** How far past the middle half of the rounds, as a share of the median, runs drift apart. */
const DRIFT = 0.03;
/** How far past the middle half of the rounds, as a share of its width, a verdict must clear. */
const FENCE = 0.5;

/** The quartiles of `values`, each moved outwards by the margin a verdict must clear. */
function widenedQuartiles(values: number[]): { low: number; high: number } {
  const s = sorted(values);
  const low = quantile(s, 0.25);
  const high = quantile(s, 0.75);
  const margin = FENCE * (high - low) + DRIFT * quantile(s, 0.5);
  return { low: low - margin, high: high + margin };
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
