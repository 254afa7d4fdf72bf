/**
 * SIGINT while `run` is active cancels the whole tree (every finally runs) and `run` rejects
 * with KeyboardInterrupt; a second SIGINT exits at once. Runs a fixture in a subprocess.
 */
import { expect, test } from "bun:test";

const fixture = new URL("../fixtures/sigint.ts", import.meta.url).pathname;

async function startFixture(...args: string[]) {
  const child = Bun.spawn(["bun", fixture, ...args], { stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  while (!output.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`fixture exited early: ${output}`);
    output += decoder.decode(value);
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return output;
      output += decoder.decode(value);
    }
  })();
  return { child, rest };
}

test("SIGINT cancels the tree, runs every finally, rejects with KeyboardInterrupt", async () => {
  const { child, rest } = await startFixture();
  child.kill("SIGINT");
  const exitCode = await child.exited;
  const lines = (await rest).trim().split("\n");
  expect(lines[0]).toBe("ready");
  expect(lines.slice(1, 4).sort()).toEqual(["finally a", "finally b", "finally main"]);
  expect(lines.slice(4)).toEqual([
    "run rejected with KeyboardInterrupt",
    "SIGINT listeners left: 0",
  ]);
  expect(exitCode).toBe(3);
}, 10_000);

test("a second SIGINT exits at once while cleanup is stuck", async () => {
  const { child, rest } = await startFixture("stubborn");
  child.kill("SIGINT");
  await Bun.sleep(200);
  expect(child.exitCode).toBeNull();
  child.kill("SIGINT");
  expect(await child.exited).toBe(130);
  expect(await rest).toContain("finally a");
}, 10_000);
