/**
 * The hook-free copy the switch benchmark compares against really has no hook sites: after
 * `stripHooks`, no file of src/core still reads the debugger field, so the copy cannot pay
 * for a check that the measurement claims to have removed.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stripHooks } from "../../bench/without-hooks.ts";

const core = new URL("../../src/core", import.meta.url).pathname;

test("every read of the debugger field in every core file is stripped", () => {
  let sites = 0;
  const left: string[] = [];
  for (const name of readdirSync(core).filter((file) => file.endsWith(".ts"))) {
    const stripped = stripHooks(readFileSync(join(core, name), "utf8"));
    sites += stripped.sites;
    for (const line of stripped.source.split("\n")) {
      // The field's declaration and its one assignment and use in the emitter may stay.
      if (/this\.#hooks\s*[!=]==/.test(line)) left.push(`${name}: ${line.trim()}`);
    }
  }
  expect(left).toEqual([]);
  expect(sites).toBeGreaterThanOrEqual(10);
});
