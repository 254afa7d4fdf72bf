/**
 * `bun bench`: runs every `bench/*.bench.ts` suite, prints one table (ours vs the
 * hand-written baseline, and their ratio) and writes `bench/results/latest.json`.
 *
 *   bun bench [filter] [--quick] [--check [--tolerance=0.25] | --update-baseline]
 *
 * filter             only suites whose name or file name contains it
 * --quick            small sizes and short runs: a smoke run, not numbers to compare
 * --check            compare the ratios with bench/baseline.json; exit 1 naming each
 *                    operation that got worse by more than the tolerance in every measurement
 * --tolerance=X      allowed growth of a ratio for --check (default 0.25 = 25%)
 * --update-baseline  write this run's ratios to bench/baseline.json
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { discoverSuites } from "./discover.ts";
import type { Suite, SuiteOptions } from "./harness.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import {
  checkRegressions,
  DEFAULT_REMEASURE_ATTEMPTS,
  DEFAULT_TOLERANCE,
  type Verdict,
} from "./regression.ts";
import { baselineRatios, readBaseline, writeBaseline, writeResults } from "./results.ts";
import { remeasure, runSuites } from "./runner.ts";
import { formatTable } from "./table.ts";

const BENCH_DIR = import.meta.dir;
const RESULTS_FILE = path.join(BENCH_DIR, "results", "latest.json");
const BASELINE_FILE = path.join(BENCH_DIR, "baseline.json");

/** Exit status when there is no verdict: a usage mistake or a crash (1 is a regression). */
const NO_VERDICT = 2;

class UsageError extends Error {}

interface Invocation {
  filter: string | undefined;
  quick: boolean;
  check: boolean;
  updateBaseline: boolean;
  tolerance: number;
}

function parseInvocation(argv: string[]): Invocation {
  const { values, positionals } = parseFlags(argv);
  if (positionals.length > 1) {
    throw new UsageError(`one filter at most, got ${positionals.map((p) => `'${p}'`).join(", ")}`);
  }
  const tolerance = values.tolerance === undefined ? DEFAULT_TOLERANCE : Number(values.tolerance);
  if (!(tolerance >= 0)) {
    throw new UsageError(`--tolerance must be a number ≥ 0, got '${values.tolerance}'`);
  }
  const invocation: Invocation = {
    filter: positionals[0],
    quick: values.quick,
    check: values.check,
    updateBaseline: values["update-baseline"],
    tolerance,
  };
  if (invocation.check && invocation.updateBaseline) {
    throw new UsageError("--check and --update-baseline do not go together: check first");
  }
  if (invocation.quick && (invocation.check || invocation.updateBaseline)) {
    throw new UsageError(
      "--quick measures other sizes than the baseline; --check and --update-baseline need a full run",
    );
  }
  return invocation;
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        quick: { type: "boolean", default: false },
        check: { type: "boolean", default: false },
        "update-baseline": { type: "boolean", default: false },
        tolerance: { type: "string" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function main(argv: string[]): Promise<number> {
  const invocation = parseInvocation(argv);
  const suites = (await discoverSuites(BENCH_DIR, invocation.filter)).map((found) => found.suite);
  if (suites.length === 0) throw new UsageError(`no suite matches '${invocation.filter}'`);
  const baseline =
    invocation.check || invocation.updateBaseline ? await readBaseline(BASELINE_FILE) : null;
  if (invocation.check && baseline === null) {
    throw new UsageError(`${BASELINE_FILE} does not exist yet: create it with --update-baseline`);
  }

  const machine = machineInfo();
  const options: SuiteOptions = { quick: invocation.quick };
  const progress = (suite: Suite) => console.error(`bench: running ${suite.name}…`);
  console.error(`bench: ${describeMachine(machine)}${invocation.quick ? " (quick)" : ""}`);
  let rows = await runSuites(suites, options, progress);

  let verdicts: Verdict[] | undefined;
  let regressions: Verdict[] = [];
  if (invocation.check && baseline !== null) {
    const result = await checkRegressions(rows, baselineRatios(baseline), {
      tolerance: invocation.tolerance,
      attempts: DEFAULT_REMEASURE_ATTEMPTS,
      remeasure: (operations) => {
        console.error(`bench: measuring again: ${operations.join(", ")}`);
        return remeasure(suites, rows, operations, options, progress);
      },
    });
    rows = result.rows;
    verdicts = result.verdicts;
    regressions = result.regressions;
  }

  console.log(`\n${formatTable(rows, verdicts)}\n`);
  console.log(`machine: ${describeMachine(machine)}`);
  await writeResults(RESULTS_FILE, rows, machine, invocation.quick);
  console.log(`results: ${path.relative(process.cwd(), RESULTS_FILE)}`);

  if (invocation.updateBaseline) {
    await writeBaseline(BASELINE_FILE, rows, machine, invocation.filter ? baseline : null);
    console.log(`baseline: ${path.relative(process.cwd(), BASELINE_FILE)} updated`);
  }
  if (baseline !== null && verdicts !== undefined) {
    reportCheck(verdicts, regressions, Object.keys(baseline.operations), invocation);
    if (describeMachine(baseline.machine) !== describeMachine(machine)) {
      console.log(`note: the baseline comes from ${describeMachine(baseline.machine)}`);
    }
  }
  return regressions.length > 0 ? 1 : 0;
}

function reportCheck(
  verdicts: readonly Verdict[],
  regressions: readonly Verdict[],
  committed: readonly string[],
  invocation: Invocation,
): void {
  if (invocation.filter === undefined) {
    const measured = new Set(verdicts.map((verdict) => verdict.operation));
    for (const operation of committed) {
      if (!measured.has(operation)) console.log(`warning: '${operation}' was not measured`);
    }
  }
  for (const verdict of verdicts) {
    if (verdict.status === "better") {
      console.log(`improved: '${verdict.operation}' (${describeChange(verdict)})`);
    }
  }
  if (regressions.length === 0) {
    console.log(`check: no ratio worse than its baseline by more than the tolerance`);
    return;
  }
  for (const verdict of regressions) {
    console.log(`REGRESSION: '${verdict.operation}' ${describeChange(verdict)}`);
  }
}

function describeChange(verdict: Verdict): string {
  const percent = (verdict.change * 100).toFixed(0);
  return `ratio ${verdict.ratio.toFixed(2)}× vs ${verdict.baselineRatio?.toFixed(2)}× committed, ${verdict.change >= 0 ? "+" : ""}${percent}% (tolerance ${(verdict.tolerance * 100).toFixed(0)}%)`;
}

try {
  process.exit(await main(Bun.argv.slice(2)));
} catch (error) {
  console.error(error instanceof UsageError ? `bench: ${error.message}` : error);
  process.exit(NO_VERDICT);
}
