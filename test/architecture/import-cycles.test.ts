/**
 * No runtime import cycle in src/: a module imported at run time must not import, directly or
 * through others, the module that imports it (load order would then decide which of the two
 * sees the other half-initialised). Type-only imports (`import type`, `{ type A }` only)
 * vanish at run time and are allowed.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/** The relative module specifiers a source file imports or re-exports at run time. */
function runtimeImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  for (const match of code.matchAll(/^\s*(import|export)\s+([^;]*?)\s+from\s+["']([^"']+)["']/gm)) {
    const clause = (match[2] as string).trim();
    if (!isTypeOnly(clause)) found.push(match[3] as string);
  }
  for (const match of code.matchAll(/^\s*import\s+["']([^"']+)["']/gm))
    found.push(match[1] as string);
  return found.filter((specifier) => specifier.startsWith("."));
}

/** `type X`, `type { A }`, `{ type A, type B }`: nothing of it exists at run time. */
function isTypeOnly(clause: string): boolean {
  if (/^type\s/.test(clause)) return true;
  const braces = /^\{([\s\S]*)\}$/.exec(clause);
  if (braces === null) return false; // a default import, `* as ns`, `*`, or default + names
  const names = (braces[1] as string)
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  return names.length > 0 && names.every((name) => /^type\s/.test(name));
}

/** Every cycle of `graph` once, each as the path that closes it (`a → b → a`). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const seen = state.get(next);
      if (seen === "open") cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("the import-cycle check itself", () => {
  test("runtime and type-only imports are told apart", () => {
    const source = `
      import type { A } from "./a.ts";
      import { type B, type C } from "./b.ts";
      import { type D, e } from "./d.ts";
      import f from "./f.ts";
      import * as g from "./g.ts";
      import "./h.ts";
      export { i } from "./i.ts";
      export type { J } from "./j.ts";
      export * from "./k.ts";
      import {
        type L,
        m,
      } from "./l.ts";
      import { n } from "node:fs";
      // import { o } from "./o.ts";
    `;
    expect(runtimeImports(source).sort()).toEqual(
      ["./d.ts", "./f.ts", "./g.ts", "./h.ts", "./i.ts", "./k.ts", "./l.ts"].sort(),
    );
  });

  test("a cycle is found, with its path", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a", "d"]],
      ["d", []],
    ]);
    expect(findCycles(graph)).toEqual([["a", "b", "c", "a"]]);
    expect(
      findCycles(
        new Map([
          ["a", ["b"]],
          ["b", []],
        ]),
      ),
    ).toEqual([]);
  });
});

test("src/ has no runtime import cycle", () => {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const imports = runtimeImports(readFileSync(file, "utf8")).map((specifier) =>
      relative(SRC, resolve(dirname(file), specifier)),
    );
    graph.set(relative(SRC, file), imports);
  }
  expect(graph.size).toBeGreaterThan(20);
  expect(graph.get("net/listener.ts")).toContain("net/serve-loop.ts");
  expect(findCycles(graph).map((cycle) => cycle.join(" → "))).toEqual([]);
});
