/**
 * docs/reference.md keeps up with the code: every name src/index.ts exports (values and
 * types) has a heading there, every public method or getter of an exported class is named
 * in its class's section, and every example that imports from "giambio" runs cleanly.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as giambio from "../src/index.ts";
import { runExample } from "./support/run-bun.ts";

const root = new URL("..", import.meta.url).pathname;
const reference = readFileSync(join(root, "docs/reference.md"), "utf8");
const index = readFileSync(join(root, "src/index.ts"), "utf8");

/** Every name in index.ts's `export { … } from` and `export type { … } from` lists. */
function exportedNames(source: string): string[] {
  const names: string[] = [];
  for (const [, list] of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s*from/g)) {
    for (const item of (list as string).split(",")) {
      const words = item
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/);
      const name = (words[1] ?? words[0] ?? "").trim();
      if (name !== "") names.push(name);
    }
  }
  for (const [, name] of source.matchAll(/export\s+(?:const|function|class)\s+(\w+)/g)) {
    names.push(name as string);
  }
  return names;
}

/** The reference's headings, and the text of each `###` section (up to the next heading). */
const headings = reference.split("\n").filter((line) => line.startsWith("#"));
function sectionsNaming(name: string): string[] {
  const sections = reference.split(/\n(?=#{2,3} )/);
  return sections.filter((section) => new RegExp(`^#{2,3} .*\`${name}[\`(<]`).test(section));
}

/** Class bodies in src/, by class name, to tell members marked `@internal` from public ones. */
function classBodies(): Map<string, string> {
  const bodies = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) {
        const source = readFileSync(path, "utf8");
        for (const match of source.matchAll(/^export (?:abstract )?class (\w+)[\s\S]*?^\}$/gm)) {
          bodies.set(match[1] as string, match[0]);
        }
      }
    }
  };
  walk(join(root, "src"));
  return bodies;
}

function internalMembers(body: string): Set<string> {
  const names = new Set<string>();
  const pattern =
    /\/\*\*(?:(?!\*\/)[\s\S])*@internal(?:(?!\*\/)[\s\S])*\*\/\s*(?:(?:override|async|get|set|static|readonly)\s+)*(\w+)/g;
  for (const match of body.matchAll(pattern)) names.add(match[1] as string);
  return names;
}

const BUILTIN_PROTOTYPES = new Set<object>([
  Object.prototype,
  Error.prototype,
  AggregateError.prototype,
  Function.prototype,
]);

/** Public methods and accessors of `cls` (own and inherited from giambio classes). */
function publicMembers(cls: { prototype: object }, bodies: Map<string, string>): string[] {
  const members = new Set<string>();
  for (
    let proto: object | null = cls.prototype;
    proto !== null && !BUILTIN_PROTOTYPES.has(proto);
    proto = Object.getPrototypeOf(proto)
  ) {
    const internal = internalMembers(bodies.get(proto.constructor.name) ?? "");
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== "constructor" && !internal.has(name) && !isErrorName(proto, name)) {
        members.add(name);
      }
    }
  }
  return [...members];
}

/** An error class's `name`, kept on its prototype as the built-in errors keep theirs. */
const isErrorName = (proto: object, name: string): boolean =>
  name === "name" &&
  proto instanceof Error &&
  typeof Object.getOwnPropertyDescriptor(proto, name)?.value === "string";

const isClass = (value: unknown): value is { prototype: object; name: string } =>
  typeof value === "function" && /^class\b/.test(Function.prototype.toString.call(value));

describe("docs/reference.md", () => {
  const names = exportedNames(index);

  test("the export list is read completely: every runtime export is in it", () => {
    expect(names.length).toBeGreaterThan(40);
    const missing = Object.keys(giambio).filter((name) => !names.includes(name));
    expect(missing).toEqual([]);
  });

  test("every export of src/index.ts has a heading", () => {
    const missing = names.filter(
      (name) => !headings.some((heading) => new RegExp(`\`${name}[\`(<]`).test(heading)),
    );
    expect(missing).toEqual([]);
  });

  test("every public method and getter of an exported class is named in its section", () => {
    const bodies = classBodies();
    const missing: string[] = [];
    for (const [name, value] of Object.entries(giambio)) {
      if (!isClass(value)) continue;
      const text = sectionsNaming(name).join("\n");
      for (const member of publicMembers(value, bodies)) {
        if (!new RegExp(`\\b${member}\\b`).test(text)) missing.push(`${name}.${member}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("the checks can fail: a class's @internal members are told apart", () => {
    const bodies = classBodies();
    const internal = internalMembers(bodies.get("Loop") ?? "");
    expect(internal.has("wake")).toBe(true);
    expect(internal.has("tick")).toBe(false);
    expect(publicMembers(giambio.Scheduler, bodies)).toContain("tick");
  });

  const examples = [...reference.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((match) => match[1] as string)
    .filter((code) => code.includes('from "giambio"'));
  const dir = mkdtempSync(join(tmpdir(), "giambio-reference-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("there are examples", () => {
    expect(examples.length).toBeGreaterThan(20);
  });

  examples.forEach((code, i) => {
    const heading = reference
      .slice(0, reference.indexOf(code))
      .match(/\n### (.*)/g)
      ?.at(-1);
    test(`example ${i + 1} runs cleanly: ${heading?.slice(5, 60)}`, async () => {
      const { stdout, stderr, status } = await runExample(join(dir, `example-${i + 1}.ts`), code);
      expect(stderr).toBe("");
      expect(status).toBe(0);
      // Where a line says what it prints (`// 42`), the output says it too.
      const shown = [...code.matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)].map(
        (m) => m[1] as string,
      );
      for (const comment of shown) {
        const words = comment.split(/[:(]/)[0]?.trim() as string;
        expect(stdout.replaceAll("\\n", "\n")).toContain(words.replaceAll("\\n", "\n"));
      }
    }, 20_000);
  });
});
