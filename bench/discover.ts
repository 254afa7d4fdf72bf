/**
 * Finds the benchmark suites: every `bench/*.bench.ts` exporting `suite: Suite`.
 */
import path from "node:path";
import type { Suite } from "./harness.ts";

export interface SuiteFile {
  /** The file name, e.g. "spawn.bench.ts". */
  file: string;
  suite: Suite;
}

/**
 * Imports each `*.bench.ts` in `dir` (sorted by file name) and returns its suite. With a
 * `filter`, keeps only suites whose name or file name contains it (case-insensitive). A file
 * that does not export a suite is an error, not something to skip silently.
 */
export async function discoverSuites(dir: string, filter?: string): Promise<SuiteFile[]> {
  const files = [...new Bun.Glob("*.bench.ts").scanSync({ cwd: dir })].sort();
  const wanted = filter?.toLowerCase();
  const found: SuiteFile[] = [];
  for (const file of files) {
    const module: { suite?: unknown } = await import(path.join(dir, file));
    const suite = module.suite;
    if (!isSuite(suite)) {
      throw new Error(`${file} must export \`suite: Suite\` ({ name, run(options) })`);
    }
    if (wanted === undefined || `${suite.name} ${file}`.toLowerCase().includes(wanted)) {
      found.push({ file, suite });
    }
  }
  return found;
}

function isSuite(value: unknown): value is Suite {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<Suite>;
  return typeof candidate.name === "string" && typeof candidate.run === "function";
}
