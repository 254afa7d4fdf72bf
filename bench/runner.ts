/**
 * Runs suites one after another and labels each row with the suite it came from (a suspect
 * operation is re-measured by running its suite again).
 */
import type { Row, Suite, SuiteOptions } from "./harness.ts";

export interface SuiteRow extends Row {
  suite: string;
}

/** Runs each suite in turn; `progress` hears about each before it starts. */
export async function runSuites(
  suites: readonly Suite[],
  options: SuiteOptions,
  progress: (suite: Suite) => void = () => {},
): Promise<SuiteRow[]> {
  const rows: SuiteRow[] = [];
  for (const suite of suites) {
    progress(suite);
    for (const row of await suite.run(options)) {
      checkRow(suite, row);
      const clash = rows.find((other) => other.operation === row.operation);
      if (clash !== undefined) {
        throw new Error(
          `operation '${row.operation}' is reported by both '${clash.suite}' and '${suite.name}'; operations are keys and must be unique`,
        );
      }
      rows.push({ ...row, suite: suite.name });
    }
  }
  return rows;
}

/** Measures `operations` again by re-running the suites that produced them in `rows`. */
export async function remeasure(
  suites: readonly Suite[],
  rows: readonly SuiteRow[],
  operations: readonly string[],
  options: SuiteOptions,
  progress?: (suite: Suite) => void,
): Promise<SuiteRow[]> {
  const names = new Set(
    rows.filter((row) => operations.includes(row.operation)).map((row) => row.suite),
  );
  const again = await runSuites(
    suites.filter((suite) => names.has(suite.name)),
    options,
    progress,
  );
  return again.filter((row) => operations.includes(row.operation));
}

/** A row with a non-positive or non-finite figure would poison every ratio after it. */
function checkRow(suite: Suite, row: Row): void {
  for (const figure of [row.ours, row.baseline]) {
    if (!(Number.isFinite(figure) && figure > 0)) {
      throw new Error(
        `suite '${suite.name}' reported ${figure} for '${row.operation}'; figures must be positive numbers`,
      );
    }
  }
}
