/**
 * Drives fixtures/server.ts from a test: starts it, asks it for its `Stats`, waits for them
 * to reach a state, and stops it. Also the test-side switch between the CI and heavy sizes.
 */

import { readLines } from "../support/read-lines.ts";
import type { Stats } from "./fixtures/server.ts";

export type { Stats };

/** `GIAMBIO_HEAVY=1`: the full-size runs of the issue, too long for every CI run. */
export const HEAVY = process.env["GIAMBIO_HEAVY"] === "1";

const FIXTURE = `${import.meta.dir}/fixtures/server.ts`;

export class ServerProcess {
  readonly process: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>;
  readonly port: number;
  readonly #lines: AsyncGenerator<string>;
  #stderr = "";
  readonly #stderrDone: Promise<void>;

  private constructor(
    child: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>,
    lines: AsyncGenerator<string>,
    port: number,
  ) {
    this.process = child;
    this.#lines = lines;
    this.port = port;
    this.#stderrDone = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) this.#stderr += decoder.decode(chunk);
    })();
  }

  /** Starts the fixture in `mode` (`echo`, `send <bytes>`, `slow-reader`) and waits until it listens. */
  static async start(...mode: string[]): Promise<ServerProcess> {
    const child = Bun.spawn(["bun", FIXTURE, ...mode], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const lines = readLines(child.stdout);
    const first = await lines.next();
    const match = /^listening (\d+)$/.exec(first.value ?? "");
    if (match === null) {
      child.kill();
      throw new Error(`server fixture did not start: ${first.value ?? "(no output)"}`);
    }
    return new ServerProcess(child, lines, Number(match[1]));
  }

  /** The server's `Stats`, taken after a full GC. */
  async stats(): Promise<Stats> {
    this.process.stdin.write("stats\n");
    this.process.stdin.flush();
    return JSON.parse(await this.#nextLine()) as Stats;
  }

  /** Restarts the server's peak-RSS record. */
  resetPeak(): void {
    this.process.stdin.write("reset-peak\n");
    this.process.stdin.flush();
  }

  /**
   * Polls `stats()` until `done(stats)` holds, and returns those stats; after `timeoutMs`
   * returns the last ones (the caller's assertions then say what is off).
   */
  async waitFor(done: (stats: Stats) => boolean, timeoutMs = 10_000): Promise<Stats> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const stats = await this.stats();
      if (done(stats) || performance.now() > deadline) return stats;
      await Bun.sleep(50);
    }
  }

  /** The next stdout line (after Ctrl+C: `exit {...}`). */
  async #nextLine(): Promise<string> {
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`server fixture exited; stderr:\n${this.#stderr}`);
    return value;
  }

  /** Sends SIGINT; resolves with the exit code, the final stats and everything on stderr. */
  async interrupt(): Promise<{ exitCode: number; stats: Stats; stderr: string }> {
    this.process.kill("SIGINT");
    const line = await this.#nextLine();
    if (!line.startsWith("exit ")) throw new Error(`unexpected output after SIGINT: ${line}`);
    const exitCode = await this.process.exited;
    await this.#stderrDone;
    return { exitCode, stats: JSON.parse(line.slice(5)) as Stats, stderr: this.#stderr };
  }

  /** Ends the fixture (stdin closed, then killed if it lingers). */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    this.process.stdin.end();
    const exited = await Promise.race([this.process.exited, Bun.sleep(2000)]);
    if (exited === undefined) this.process.kill("SIGKILL");
    await this.process.exited;
  }
}
