/**
 * The teardown diagnostic (`bench/tcp/reset-burst.ts`) runs end to end on a small burst:
 * each server's line, a figure per round, and a clean exit (its servers and clients gone).
 */
import { expect, test } from "bun:test";

const SCRIPT = `${import.meta.dir}/../../bench/tcp/reset-burst.ts`;

for (const mode of ["rst", "end"]) {
  test(`reset-burst.ts ${mode}: a line per server, with a figure per round`, async () => {
    const child = Bun.spawn(["bun", SCRIPT, "200", mode, "2"], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    expect(err).toBe("");
    expect(code).toBe(0);
    const lines = out.trim().split("\n");
    expect(lines.map((line) => line.split(" ")[0])).toEqual(["raw", "serve", "bare"]);
    for (const line of lines) {
      const match = new RegExp(
        `^\\w+ +${mode} of 200: (-?\\d+) B/conn peak RSS above idle \\(rounds: (-?\\d+), (-?\\d+)\\)$`,
      ).exec(line);
      expect(match).not.toBeNull();
    }
  }, 60_000);
}

test("reset-burst.ts refuses a bad mode, naming the usage", async () => {
  const child = Bun.spawn(["bun", SCRIPT, "200", "fin"], { stdout: "pipe", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(code).toBe(2);
  expect(err).toContain("usage: bun bench/tcp/reset-burst.ts [connections=3000] [rst|end]");
  expect(err).toContain("(got: 200 fin)");
});
