import { describe, expect, test } from "bun:test";
import type { Row } from "../../bench/harness.ts";
import { formatTable } from "../../bench/table.ts";
import { judgeTarget, spreadOf } from "../../bench/verdict.ts";

/** A row measured in rounds whose ratios are `ratios` (baseline fixed at 100). */
function rounds(ratios: number[], extra: Partial<Row> = {}): Row {
  const ours = ratios.map((ratio) => 100 * ratio);
  const sorted = [...ours].sort((a, b) => a - b);
  return {
    operation: "op",
    unit: "ns/op",
    ours: sorted[sorted.length >> 1] as number,
    baseline: 100,
    rounds: { ours, baseline: ratios.map(() => 100) },
    ...extra,
  };
}

describe("spreadOf", () => {
  test("is the interquartile range of the rounds' ratios over their median", () => {
    expect(spreadOf(rounds([1.0, 1.1, 1.2]))).toBeCloseTo(0.1 / 1.1);
    // One outlying round hardly moves it.
    expect(spreadOf(rounds([1.0, 1.0, 1.0, 1.0, 3.0]))).toBe(0);
  });

  test("pairs each round's ours with the same round's baseline", () => {
    // Both sides drift together: the ratio does not move.
    const row: Row = {
      operation: "drift",
      unit: "ns/op",
      ours: 200,
      baseline: 100,
      rounds: { ours: [100, 200, 400], baseline: [50, 100, 200] },
    };
    expect(spreadOf(row)).toBe(0);
  });

  test("is 0 without rounds or with one", () => {
    expect(spreadOf({ operation: "x", unit: "ns", ours: 1, baseline: 1 })).toBe(0);
    expect(spreadOf(rounds([1.3]))).toBe(0);
  });

  test("refuses rounds of different lengths", () => {
    const row: Row = {
      operation: "lopsided",
      unit: "ns/op",
      ours: 1,
      baseline: 1,
      rounds: { ours: [1, 2], baseline: [1] },
    };
    expect(() => spreadOf(row)).toThrow("row 'lopsided' has 2 rounds of ours but 1 of baseline");
  });
});

describe("judgeTarget", () => {
  test("no target, no verdict", () => {
    expect(judgeTarget(rounds([1, 2]))).toBeUndefined();
  });

  test("every round under the target: met; every round over it: MISSED", () => {
    expect(judgeTarget(rounds([1.7, 1.8, 1.75], { target: { ratio: 2 } }))).toBe("met");
    expect(judgeTarget(rounds([2.1, 2.2, 2.15], { target: { ratio: 2 } }))).toBe("MISSED");
  });

  test("rounds on both sides of the target: within noise, not a verdict", () => {
    // The median (2.05) alone would say MISSED, and another run could say met.
    expect(judgeTarget(rounds([1.95, 2.05, 2.1], { target: { ratio: 2 } }))).toBe("within noise");
  });

  test("rounds that agree but sit within 3% of the target: within noise (runs drift that much)", () => {
    // Measured: the 16 KiB echo's wall time read 1.04× (every round under) in one run and
    // 1.16× (its middle half over) in the next, against ≤ 1.11×.
    expect(judgeTarget(rounds([1.96, 1.97, 1.96], { target: { ratio: 2 } }))).toBe("within noise");
    expect(judgeTarget(rounds([2.04, 2.03, 2.04], { target: { ratio: 2 } }))).toBe("within noise");
    expect(judgeTarget(rounds([1.93, 1.93, 1.93], { target: { ratio: 2 } }))).toBe("met");
    expect(judgeTarget(rounds([2.07, 2.07, 2.07], { target: { ratio: 2 } }))).toBe("MISSED");
  });

  test("every round under the target, but the target within half their spread: within noise", () => {
    // Middle half 1.84–1.91, widened by half its width and 3% of the median: up to 2.006.
    expect(judgeTarget(rounds([1.8, 1.85, 1.9, 1.95], { target: { ratio: 2 } }))).toBe(
      "within noise",
    );
    expect(judgeTarget(rounds([1.8, 1.85, 1.9, 1.95], { target: { ratio: 2.05 } }))).toBe("met");
  });

  test("rounds spread wider than the row's tolerance: within noise, even if all agree", () => {
    const noisy = rounds([1.0, 1.5, 2.0], { target: { ratio: 3 } }); // spread 0.5 / 1.5
    expect(judgeTarget(noisy)).toBe("within noise"); // default tolerance 0.25
    expect(judgeTarget({ ...noisy, tolerance: 0.4 })).toBe("met");
  });

  test("one outlying round neither gives nor takes away a verdict", () => {
    // Measured: spawn+join rounds with one slow round; the bulk is far over 3×.
    expect(judgeTarget(rounds([4.03, 4.05, 4.23, 4.91, 5.87], { target: { ratio: 3 } }))).toBe(
      "MISSED",
    );
    expect(judgeTarget(rounds([1.7, 1.75, 1.8, 1.8, 2.6], { target: { ratio: 2 } }))).toBe("met");
    expect(judgeTarget(rounds([2.3, 2.4, 2.4, 2.5, 1.5], { target: { ratio: 2 } }))).toBe("MISSED");
  });

  test("an absolute target looks at the spread of ours, not of the ratio", () => {
    const row: Row = {
      operation: "bytes",
      unit: "B/task",
      ours: 600,
      baseline: 100,
      // The baseline jumps around; ours is steady above the target.
      rounds: { ours: [600, 601, 600], baseline: [100, 260, 100] },
      target: { ours: 400 },
    };
    expect(judgeTarget(row)).toBe("MISSED");
    const steadyUnder = { ours: [300, 301, 300], baseline: [1, 9, 1] };
    expect(judgeTarget({ ...row, ours: 300, rounds: steadyUnder })).toBe("met");
  });

  test("both bounds of a target must hold in a round for it to count as met", () => {
    const row = rounds([1.5, 1.5, 1.5], { target: { ratio: 2, ours: 140 } }); // ours = 150
    expect(judgeTarget(row)).toBe("MISSED");
  });

  test("a row without rounds is judged on its figures", () => {
    const row: Row = { operation: "x", unit: "ns", ours: 3, baseline: 2, target: { ratio: 1.4 } };
    expect(judgeTarget(row)).toBe("MISSED");
    expect(judgeTarget({ ...row, target: { ratio: 1.6 } })).toBe("met");
  });

  test("the same rounds in any order give the same verdict (it cannot flip on ordering)", () => {
    const ratios = [1.95, 2.05, 2.02, 1.98];
    const verdicts = new Set(
      [ratios, [...ratios].reverse(), [2.05, 1.95, 1.98, 2.02]].map((r) =>
        judgeTarget(rounds(r, { target: { ratio: 2 } })),
      ),
    );
    expect([...verdicts]).toEqual(["within noise"]);
  });
});

describe("the table", () => {
  test("shows each row's verdict next to its target", () => {
    const table = formatTable([
      rounds([1.7, 1.8], { operation: "fast", target: { ratio: 2 } }),
      rounds([1.9, 2.1], { operation: "borderline", target: { ratio: 2 } }),
      rounds([2.5, 2.6], { operation: "slow", target: { ratio: 2 } }),
    ]);
    expect(table).toMatch(/\| fast .*≤ 2× met/);
    expect(table).toMatch(/\| borderline .*≤ 2× within noise/);
    expect(table).toMatch(/\| slow .*≤ 2× MISSED/);
  });
});
