/**
 * Every TypeScript example in README.md is a complete program: this runs each one (with
 * `"giambio"` pointing at this checkout) and expects it to exit cleanly, so the guide
 * cannot drift from the code.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const readme = readFileSync(join(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
const dir = mkdtempSync(join(tmpdir(), "giambio-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README examples", () => {
  test("there are examples to check", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  blocks.forEach((block, index) => {
    const firstLine = block.split("\n").find((line) => line.trim() !== "") ?? "";
    test(`example ${index + 1} runs: ${firstLine.slice(0, 60)}`, async () => {
      const file = join(dir, `example-${index + 1}.ts`);
      writeFileSync(file, block.replaceAll('from "giambio"', `from "${root}src/index.ts"`));
      const child = Bun.spawn(["bun", file], { stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => child.kill(), 15_000);
      const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
      clearTimeout(timer);
      expect(stderr).toBe("");
      expect(code).toBe(0);
    }, 20_000);
  });
});
