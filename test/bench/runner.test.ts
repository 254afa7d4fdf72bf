import { describe, expect, test } from "bun:test";
import path from "node:path";
import { discoverSuites } from "../../bench/discover.ts";
import { compare, ratioOf, type Suite } from "../../bench/harness.ts";
import { runSuites } from "../../bench/runner.ts";
import { formatTable } from "../../bench/table.ts";

const BENCH_DIR = path.join(import.meta.dir, "../../bench");

/** A suite small enough for a unit test: a loop of 100 additions against one of 10. */
const tinySuite: Suite = {
  name: "tiny",
  async run(options) {
    let sink = 0;
    const loop = (n: number) => () => {
      for (let i = 0; i < n; i++) sink += i;
      return sink;
    };
    return [
      await compare(
        {
          operation: "hundred additions",
          unit: "ns/op",
          unitsPerCall: 1,
          ours: loop(100),
          baseline: loop(10),
          target: { ratio: 1000 },
        },
        options,
      ),
    ];
  },
};

describe("the bench harness", () => {
  test("runs a suite in quick mode and labels its rows", async () => {
    const rows = await runSuites([tinySuite], { quick: true });
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row?.suite).toBe("tiny");
    expect(row?.ours).toBeGreaterThan(0);
    expect(row?.baseline).toBeGreaterThan(0);
    expect(row?.target).toEqual({ ratio: 1000 });
    const table = formatTable(rows);
    expect(table).toContain("| hundred additions");
    expect(table).toContain(`${ratioOf(row as (typeof rows)[0]).toFixed(2)}×`);
    expect(table).toContain("≤ 1000× met");
  });

  test("rejects a figure that would poison the ratios", async () => {
    const broken: Suite = {
      name: "broken",
      run: async () => [{ operation: "nothing", unit: "ns/op", ours: 0, baseline: 1 }],
    };
    await expect(runSuites([broken], { quick: true })).rejects.toThrow(
      "suite 'broken' reported 0 for 'nothing'",
    );
  });

  test("rejects an operation reported twice", async () => {
    const twice = (name: string): Suite => ({
      name,
      run: async () => [{ operation: "same", unit: "ns/op", ours: 1, baseline: 1 }],
    });
    await expect(runSuites([twice("a"), twice("b")], { quick: true })).rejects.toThrow(
      "operation 'same' is reported by both 'a' and 'b'",
    );
  });

  test("finds the suites by name, and none for a filter that matches nothing", async () => {
    const found = await discoverSuites(BENCH_DIR, "TIMERS");
    expect(found.map((f) => [f.file, f.suite.name])).toEqual([["timers.bench.ts", "timers"]]);
    expect(await discoverSuites(BENCH_DIR, "no-such-suite")).toEqual([]);
  });

  test("the core suites run end to end in quick mode", async () => {
    const suites = (await discoverSuites(BENCH_DIR)).filter((f) =>
      ["spawn", "switch", "timers", "deadlines"].includes(f.suite.name),
    );
    expect(suites).toHaveLength(4);
    const rows = await runSuites(
      suites.map((f) => f.suite),
      { quick: true },
    );
    expect(rows.map((row) => row.suite)).toEqual([
      "deadlines",
      "deadlines",
      "spawn",
      "spawn",
      "spawn",
      "spawn",
      "switch",
      "switch",
      "switch",
      "timers",
    ]);
  });

  test("the command line refuses --check on a quick run", async () => {
    const child = Bun.spawn(["bun", path.join(BENCH_DIR, "index.ts"), "--quick", "--check"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await child.exited).toBe(2);
    expect(await new Response(child.stderr).text()).toContain("need a full run");
  });
});
