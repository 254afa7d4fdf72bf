/**
 * The in-process models (`bench/tcp/in-process.ts`, `bench/redis/in-process.ts`) run end to
 * end on one short round: a line per server asked for, with a figure, a ratio (none when the
 * baseline was not run) and the round; a server name that is not one, or a round count (or
 * message size) that is not a whole number, is refused by name.
 */
import { expect, test } from "bun:test";

const BENCH = `${import.meta.dir}/../../bench`;

async function runModel(argv: string[]): Promise<{ out: string; err: string; code: number }> {
  const child = Bun.spawn(["bun", ...argv], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { out, err, code };
}

/** Runs a model that must succeed: nothing on stderr, exit 0; returns its output's lines. */
async function outputLines(argv: string[]): Promise<string[]> {
  const { out, err, code } = await runModel(argv);
  expect(err).toBe("");
  expect(code).toBe(0);
  return out.trim().split("\n");
}

/** `label name  123 ns CPU/unit  1.23×  lowest 120  [123]`, one round. */
function linePattern(label: string, name: string, unit: string): RegExp {
  return new RegExp(
    `^${label} ${name} +\\d+ ns CPU/${unit}  \\d+\\.\\d\\d×  lowest \\d+  \\[\\d+\\]$`,
  );
}

test("tcp/in-process.ts: a line per server, the ratio against raw", async () => {
  const lines = await outputLines([`${BENCH}/tcp/in-process.ts`, "1", "raw,in-task,serve"]);
  expect(lines).toHaveLength(3);
  ["raw", "in-task", "serve"].forEach((name, i) => {
    expect(lines[i]).toMatch(linePattern("echo", name, "msg"));
  });
  expect(lines[0]).toContain(" 1.00× ");
}, 60_000);

test("tcp/in-process.ts with a message size: the lines say it", async () => {
  const lines = await outputLines([`${BENCH}/tcp/in-process.ts`, "1", "raw,serve", "16384"]);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(linePattern("echo 16384 B", "raw", "msg"));
  expect(lines[1]).toMatch(linePattern("echo 16384 B", "serve", "msg"));
}, 60_000);

test("redis/in-process.ts: a line per server, the ratio against hand", async () => {
  const lines = await outputLines([`${BENCH}/redis/in-process.ts`, "1", "1", "hand,naive"]);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(linePattern("depth 1", "hand", "req"));
  expect(lines[1]).toMatch(linePattern("depth 1", "naive", "req"));
}, 60_000);

test("without the baseline among the servers run, no ratio is printed", async () => {
  const { out, code } = await runModel([`${BENCH}/tcp/in-process.ts`, "1", "in-task"]);
  expect(code).toBe(0);
  expect(out.trim()).toMatch(/^echo in-task +\d+ ns CPU\/msg {6}— {2}lowest \d+ {2}\[\d+\]$/);
}, 60_000);

test("an unknown server is refused, naming it and the servers there are", async () => {
  const { err, code } = await runModel([`${BENCH}/tcp/in-process.ts`, "1", "raw,fast"]);
  expect(code).not.toBe(0);
  expect(err).toContain("unknown server fast; the servers are raw, bare, in-task, serve");
}, 60_000);

test("a round count that is not a whole number is refused, naming it", async () => {
  const { err, code } = await runModel([`${BENCH}/tcp/in-process.ts`, "two", "raw"]);
  expect(code).not.toBe(0);
  expect(err).toContain('rounds must be a whole number from 1, got "two"');
}, 60_000);

test("a message size that is not a whole number is refused, naming it", async () => {
  const { err, code } = await runModel([`${BENCH}/tcp/in-process.ts`, "1", "raw", "16k"]);
  expect(code).not.toBe(0);
  expect(err).toContain('bytes must be a whole number from 1, got "16k"');
}, 60_000);
