import { describe, expect, test } from "bun:test";
import type { Row } from "../../bench/harness.ts";
import { checkRegressions, judge } from "../../bench/regression.ts";

/** A row whose ratio is `ratio` (baseline fixed at 100). */
function row(operation: string, ratio: number, extra: Partial<Row> = {}): Row {
  return { operation, unit: "ns/op", ours: 100 * ratio, baseline: 100, ...extra };
}

const committed = { spawn: 2, switch: 1.5, timers: 1.2 };

describe("judge", () => {
  test("a ratio within the tolerance is ok, either way", () => {
    const verdicts = judge([row("spawn", 2.4), row("switch", 1.2)], committed, 0.25);
    expect(verdicts.map((v) => v.status)).toEqual(["ok", "ok"]);
    expect(verdicts[0]?.change).toBeCloseTo(0.2);
    expect(verdicts[1]?.change).toBeCloseTo(-0.2);
  });

  test("a ratio grown past the tolerance is worse; one shrunk past it is better", () => {
    const verdicts = judge([row("spawn", 2.6), row("switch", 1.1)], committed, 0.25);
    expect(verdicts.map((v) => v.status)).toEqual(["worse", "better"]);
    expect(verdicts[0]?.baselineRatio).toBe(2);
  });

  test("absolute figures do not matter, only the ratio", () => {
    // Everything twice as slow (a busier machine) is not a regression.
    const slowMachine = { operation: "spawn", unit: "ns/op", ours: 400, baseline: 200 };
    expect(judge([slowMachine], committed, 0.25)[0]?.status).toBe("ok");
  });

  test("an operation with no committed ratio is new, not a failure", () => {
    const [verdict] = judge([row("channel", 9)], committed, 0.25);
    expect(verdict?.status).toBe("new");
    expect(verdict?.baselineRatio).toBeUndefined();
  });

  test("a row's own tolerance overrides the default", () => {
    const verdicts = judge(
      [row("spawn", 2.6, { tolerance: 0.5 }), row("timers", 1.6)],
      committed,
      0.25,
    );
    expect(verdicts.map((v) => v.status)).toEqual(["ok", "worse"]);
    expect(verdicts[0]?.tolerance).toBe(0.5);
  });

  test("operation names are looked up as own keys only", () => {
    expect(judge([row("toString", 1)], committed, 0.25)[0]?.status).toBe("new");
  });
});

describe("checkRegressions", () => {
  test("nothing suspicious: no re-measurement, no regression", async () => {
    const asked: string[][] = [];
    const result = await checkRegressions([row("spawn", 2.1), row("switch", 1.5)], committed, {
      tolerance: 0.25,
      attempts: 2,
      remeasure: async (operations) => {
        asked.push(operations);
        return [];
      },
    });
    expect(asked).toEqual([]);
    expect(result.regressions).toEqual([]);
    expect(result.remeasured).toEqual([]);
  });

  test("a one-off bad measurement is measured again and not reported", async () => {
    const asked: string[][] = [];
    const result = await checkRegressions([row("spawn", 3), row("switch", 1.5)], committed, {
      tolerance: 0.25,
      attempts: 2,
      remeasure: async (operations) => {
        asked.push(operations);
        return [row("spawn", 2.1), row("switch", 9)]; // switch was not asked for: ignored
      },
    });
    expect(asked).toEqual([["spawn"]]);
    expect(result.regressions).toEqual([]);
    expect(result.remeasured).toEqual(["spawn"]);
    expect(result.rows.map((r) => r.ours / r.baseline)).toEqual([2.1, 1.5]);
  });

  test("a regression seen in every measurement is reported, with its best ratio", async () => {
    let calls = 0;
    const result = await checkRegressions([row("spawn", 3), row("switch", 1.5)], committed, {
      tolerance: 0.25,
      attempts: 2,
      remeasure: async () => {
        calls++;
        return [row("spawn", calls === 1 ? 2.8 : 3.2)];
      },
    });
    expect(calls).toBe(2);
    expect(result.regressions.map((v) => v.operation)).toEqual(["spawn"]);
    expect(result.regressions[0]?.ratio).toBeCloseTo(2.8);
    expect(result.regressions[0]?.change).toBeCloseTo(0.4);
  });

  test("only the suspects still worse are measured again", async () => {
    const asked: string[][] = [];
    const result = await checkRegressions(
      [row("spawn", 3), row("switch", 2), row("timers", 1.2)],
      committed,
      {
        tolerance: 0.25,
        attempts: 3,
        remeasure: async (operations) => {
          asked.push(operations);
          return [row("spawn", 2), row("switch", 2)];
        },
      },
    );
    expect(asked).toEqual([["spawn", "switch"], ["switch"], ["switch"]]);
    expect(result.regressions.map((v) => v.operation)).toEqual(["switch"]);
    expect(result.remeasured).toEqual(["spawn", "switch"]);
  });

  test("with no attempts allowed, a suspect is reported as measured", async () => {
    const result = await checkRegressions([row("timers", 2)], committed, {
      tolerance: 0.25,
      attempts: 0,
      remeasure: async () => {
        throw new Error("must not be called");
      },
    });
    expect(result.regressions.map((v) => v.operation)).toEqual(["timers"]);
  });

  test("a re-measurement that is missing the operation keeps the first one", async () => {
    const result = await checkRegressions([row("spawn", 3)], committed, {
      tolerance: 0.25,
      attempts: 1,
      remeasure: async () => [],
    });
    expect(result.regressions.map((v) => v.ratio)).toEqual([3]);
  });
});
