/**
 * A copy of giambio whose core has no debugger hook sites, to measure what those sites cost
 * when no debugger is installed. The copy lives in a temporary folder; every hook test (see
 * `HOOK_TESTS`) in every file of src/core becomes a constant, so the JIT drops the branches
 * entirely, exactly as if the sites had never been written.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Giambio = typeof import("../src/index.ts");

/**
 * How the core tests "is a debugger installed?" (and "is none?"), with what each test becomes
 * in the copy; a hook site written otherwise must be added here.
 */
const HOOK_TESTS: readonly (readonly [test: string, withoutHooks: string])[] = [
  ["this.#hooks !== null", "false"],
  ["this.#hooks === null", "true"],
];

/** `source` with every hook test replaced by its constant, and how many there were. */
export function stripHooks(source: string): { source: string; sites: number } {
  let sites = 0;
  for (const [test, constant] of HOOK_TESTS) {
    sites += source.split(test).length - 1;
    source = source.replaceAll(test, constant);
  }
  return { source, sites };
}

/** Imports the hook-free copy (made once per process); removed when the process exits. */
export async function importWithoutHooks(): Promise<Giambio> {
  const dir = mkdtempSync(join(tmpdir(), "giambio-no-hooks-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  cpSync(new URL("../src", import.meta.url).pathname, join(dir, "src"), { recursive: true });
  const core = join(dir, "src", "core");
  let sites = 0;
  for (const name of readdirSync(core)) {
    if (!name.endsWith(".ts")) continue;
    const file = join(core, name);
    const stripped = stripHooks(readFileSync(file, "utf8"));
    sites += stripped.sites;
    writeFileSync(file, stripped.source);
  }
  // If the hook sites were rewritten differently, this measurement would silently compare
  // the core with itself: refuse instead.
  if (sites < 10) throw new Error(`expected the hook sites in src/core, found ${sites}`);
  return (await import(join(dir, "src", "index.ts"))) as Giambio;
}
