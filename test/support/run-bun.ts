/**
 * Running `bun` as a child process to its end, as the tests of documentation examples and
 * of the package do: what it wrote and how it exited.
 */
import { writeFileSync } from "node:fs";

const SRC_INDEX = new URL("../../src/index.ts", import.meta.url).pathname;

/** How a finished `bun` child ended. */
export interface BunResult {
  stdout: string;
  stderr: string;
  status: number;
}

export interface RunBunOptions {
  /** The child's working directory (default: this process's). */
  cwd?: string;
  /** The child's stdin (default: an empty stream). */
  stdin?: Uint8Array | undefined;
  /** Kill the child after this many ms, so a hang ends as a failure rather than a timeout. */
  killAfter?: number;
}

/** Runs `bun ...args` and waits for it to exit. */
export async function runBun(args: string[], options: RunBunOptions = {}): Promise<BunResult> {
  const child = Bun.spawn(["bun", ...args], {
    cwd: options.cwd ?? process.cwd(),
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer =
    options.killAfter === undefined ? undefined : setTimeout(() => child.kill(), options.killAfter);
  const [stdout, stderr, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, status };
}

/**
 * Runs `code`, a documentation example that imports from "giambio", as a program of its own:
 * saved as `file` with "giambio" pointing at this checkout, killed after 15 s.
 */
export function runExample(file: string, code: string, stdin?: Uint8Array): Promise<BunResult> {
  writeFileSync(file, code.replaceAll('from "giambio"', `from "${SRC_INDEX}"`));
  return runBun([file], { stdin, killAfter: 15_000 });
}
