/**
 * A copy of giambio whose scheduler has no debugger hook sites, to measure what those sites
 * cost when no debugger is installed. The copy lives in a temporary folder; every
 * `this.#hooks !== null` test in scheduler.ts becomes `false`, so the JIT drops the branches
 * entirely, exactly as if the sites had never been written.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Giambio = typeof import("../src/index.ts");

const HOOK_TEST = "this.#hooks !== null";

/** Imports the hook-free copy (made once per process); removed when the process exits. */
export async function importWithoutHooks(): Promise<Giambio> {
  const dir = mkdtempSync(join(tmpdir(), "giambio-no-hooks-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  cpSync(new URL("../src", import.meta.url).pathname, join(dir, "src"), { recursive: true });
  const scheduler = join(dir, "src", "core", "scheduler.ts");
  const source = readFileSync(scheduler, "utf8");
  const sites = source.split(HOOK_TEST).length - 1;
  // If the hook sites were rewritten differently, this measurement would silently compare
  // the scheduler with itself: refuse instead.
  if (sites < 10) throw new Error(`expected the hook sites in scheduler.ts, found ${sites}`);
  writeFileSync(scheduler, source.replaceAll(HOOK_TEST, "false"));
  return (await import(join(dir, "src", "index.ts"))) as Giambio;
}
