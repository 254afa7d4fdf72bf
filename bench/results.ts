/**
 * The two JSON files of `bun bench`: `bench/results/latest.json` (every figure of the last
 * run, git-ignored) and `bench/baseline.json` (the ratios of the last accepted state,
 * committed; what `--check` compares with).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { ratioOf } from "./harness.ts";
import type { MachineInfo } from "./machine.ts";
import type { SuiteRow } from "./runner.ts";
import { judgeTarget, spreadOf, type TargetVerdict } from "./verdict.ts";

export interface ResultsFile {
  date: string;
  quick: boolean;
  machine: MachineInfo;
  /** Each row with its ratio, the spread of its rounds' ratios and its target's verdict. */
  rows: (SuiteRow & { ratio: number; spread: number; verdict?: TargetVerdict })[];
}

export interface BaselineEntry {
  ratio: number;
  /** The figures behind the ratio, for the reader; `--check` uses only `ratio`. */
  ours: number;
  baseline: number;
  unit: string;
}

export interface BaselineFile {
  date: string;
  machine: MachineInfo;
  operations: Record<string, BaselineEntry>;
}

export async function writeResults(
  file: string,
  rows: readonly SuiteRow[],
  machine: MachineInfo,
  quick: boolean,
): Promise<void> {
  const results: ResultsFile = {
    date: new Date().toISOString(),
    quick,
    machine,
    rows: rows.map((row) => {
      const verdict = judgeTarget(row);
      const judged = { ...row, ratio: ratioOf(row), spread: spreadOf(row) };
      return verdict === undefined ? judged : { ...judged, verdict };
    }),
  };
  await mkdir(path.dirname(file), { recursive: true });
  await Bun.write(file, `${JSON.stringify(results, null, 2)}\n`);
}

/** The committed baseline, or null when there is none yet. */
export async function readBaseline(file: string): Promise<BaselineFile | null> {
  const handle = Bun.file(file);
  if (!(await handle.exists())) return null;
  const parsed = (await handle.json()) as Partial<BaselineFile>;
  if (typeof parsed.operations !== "object" || parsed.operations === null) {
    throw new Error(`${file} has no "operations" object; regenerate it with --update-baseline`);
  }
  return parsed as BaselineFile;
}

/** Operation → committed ratio, the form `--check` compares against. */
export function baselineRatios(baseline: BaselineFile): Record<string, number> {
  return Object.fromEntries(
    Object.entries(baseline.operations).map(([operation, entry]) => [operation, entry.ratio]),
  );
}

/**
 * Writes `rows` as the new baseline. With `previous`, its operations that this run did not
 * measure (a filtered run) are kept.
 */
export async function writeBaseline(
  file: string,
  rows: readonly SuiteRow[],
  machine: MachineInfo,
  previous: BaselineFile | null,
): Promise<void> {
  const operations: Record<string, BaselineEntry> = { ...previous?.operations };
  for (const row of rows) {
    operations[row.operation] = {
      ratio: round(ratioOf(row)),
      ours: round(row.ours),
      baseline: round(row.baseline),
      unit: row.unit,
    };
  }
  const baseline: BaselineFile = { date: new Date().toISOString(), machine, operations };
  await Bun.write(file, `${JSON.stringify(baseline, null, 2)}\n`);
}

/** Four significant digits: more would only record noise. */
function round(value: number): number {
  return Number(value.toPrecision(4));
}
