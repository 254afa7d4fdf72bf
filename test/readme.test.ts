/**
 * Every TypeScript example in README.md is a complete program: this runs each one (with
 * `"giambio"` pointing at this checkout, and "hello\nworld\n" on its standard input) and
 * expects it to exit cleanly, with nothing on stderr. A block that prints must be followed
 * by a ```text block showing its output, and its stdout must match it line by line, so the
 * guide cannot drift from what the code does. In an output block, `…` stands for any text
 * and `~2.00` for a timing of at least about 2.00 and under 1.9 times it: it passes when
 * two 2-second children ran at once and fails when they ran one after the other (2 times),
 * with room for a loaded machine (a `~100 ms` sleep was seen past 1.5 times).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runExample } from "./support/run-bun.ts";

const root = new URL("..", import.meta.url).pathname;
const readme = readFileSync(join(root, "README.md"), "utf8");
const STDIN = "hello\nworld\n";

interface Example {
  code: string;
  /** The ```text block right after the code (blank lines between), if there is one. */
  output: string | undefined;
}

const examples: Example[] = [
  ...readme.matchAll(/```ts\n([\s\S]*?)```\n(?:\s*\n```text\n([\s\S]*?)```)?/g),
].map((match) => ({ code: match[1] as string, output: match[2] }));
const dir = mkdtempSync(join(tmpdir(), "giambio-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether `actual` is a number `~expected` allows: from 2% under it to 1.9 times it. */
function withinTiming(actual: number, expected: number): boolean {
  return actual >= expected * 0.98 && actual < Math.max(expected * 1.9, expected + 0.01);
}

/** Why `actual` does not match the output line `expected`, or null when it does. */
function mismatch(expected: string, actual: string): string | null {
  const timings: number[] = [];
  const source = expected
    .split(/(…|~\d+(?:\.\d+)?)/)
    .map((part, index) => {
      if (index % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (part === "…") return ".*";
      timings.push(Number(part.slice(1)));
      return "(\\d+(?:\\.\\d+)?)";
    })
    .join("");
  const match = new RegExp(`^${source}$`).exec(actual);
  if (match === null) return `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  for (const [i, timing] of timings.entries()) {
    const got = Number(match[i + 1]);
    if (!withinTiming(got, timing)) return `expected ~${timing} in ${JSON.stringify(actual)}`;
  }
  return null;
}

describe("README examples", () => {
  test("there are examples to check, and output blocks to compare", () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
    expect(examples.filter((example) => example.output !== undefined).length).toBeGreaterThan(8);
  });

  test("output matching: `~` rejects a sequential run, `…` takes anything", () => {
    const line = "[main] Children execution complete in ~2.00 seconds";
    expect(mismatch(line, "[main] Children execution complete in 2.01 seconds")).toBeNull();
    expect(mismatch(line, "[main] Children execution complete in 3.50 seconds")).toBeNull();
    expect(mismatch(line, "[main] Children execution complete in 3.80 seconds")).not.toBeNull();
    expect(mismatch(line, "[main] Children execution complete in 4.00 seconds")).not.toBeNull();
    expect(mismatch(line, "[main] Children execution complete in 1.50 seconds")).not.toBeNull();
    expect(mismatch("… bytes read", "1234 bytes read")).toBeNull();
    expect(mismatch("a.b", "axb")).not.toBeNull();
  });

  examples.forEach(({ code, output }, index) => {
    const firstLine = code.split("\n").find((line) => line.trim() !== "") ?? "";
    test(`example ${index + 1} runs and prints what the README shows: ${firstLine.slice(0, 50)}`, async () => {
      const { stdout, stderr, status } = await runExample(
        join(dir, `example-${index + 1}.ts`),
        code,
        new TextEncoder().encode(STDIN),
      );
      expect(stderr).toBe("");
      expect(status).toBe(0);
      if (output === undefined) {
        // A block that prints must show what it prints.
        expect(stdout).toBe("");
        return;
      }
      const expected = output.replace(/\n$/, "").split("\n");
      const actual = stdout.replace(/\n$/, "").split("\n");
      const problems = expected
        .map((line, i) =>
          i < actual.length ? mismatch(line, actual[i] as string) : `missing ${line}`,
        )
        .filter((problem) => problem !== null);
      expect({ problems, lines: actual.length }).toEqual({ problems: [], lines: expected.length });
    }, 20_000);
  });
});
