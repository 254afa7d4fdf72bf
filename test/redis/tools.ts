/**
 * Test-side helpers for examples/redis-server.ts: the external tools it is driven by
 * (`redis-cli`, `redis-benchmark`: Debian's `redis-tools`) and the example as a subprocess.
 */
import { test } from "bun:test";
import { readLines } from "../support/read-lines.ts";

const EXAMPLE = `${import.meta.dir}/../../examples/redis-server.ts`;

/**
 * `test`, or `test.skip` with a message when one of `tools` is missing — except in CI
 * (`process.env["CI"]`), where the tests run and fail, so that a CI image without them is
 * noticed instead of passing by skipping.
 */
export function testWithTools(...tools: string[]): typeof test {
  const missing = tools.filter((tool) => Bun.which(tool) === null);
  if (missing.length === 0) return test;
  if (process.env["CI"]) {
    return ((name: string) =>
      test(name, () => {
        throw new Error(`${missing.join(", ")} not installed: .ci/run installs redis-tools`);
      })) as unknown as typeof test;
  }
  console.warn(`skipping the tests that need ${missing.join(", ")} (apt-get install redis-tools)`);
  return test.skip;
}

/** The example, started on 127.0.0.1 and a free port, with its output collected. */
export class RedisExample implements AsyncDisposable {
  readonly process: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>;
  readonly port: number;
  readonly #stdout: AsyncGenerator<string>;
  readonly #stderr: Promise<string>;

  private constructor(
    child: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>,
    stdout: AsyncGenerator<string>,
    port: number,
  ) {
    this.process = child;
    this.#stdout = stdout;
    this.port = port;
    this.#stderr = new Response(child.stderr).text();
  }

  static async start(): Promise<RedisExample> {
    const child = Bun.spawn(["bun", EXAMPLE], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0" },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const lines = readLines(child.stdout);
    const first = await lines.next();
    const port = Number(
      /^Ready to accept connections at 127\.0\.0\.1:(\d+)$/.exec(first.value ?? "")?.[1],
    );
    if (!(port > 0)) {
      child.kill();
      throw new Error(
        `the example did not start: ${first.value ?? (await new Response(child.stderr).text())}`,
      );
    }
    return new RedisExample(child, lines, port);
  }

  /** Runs `redis-cli` against the example with `args`; resolves with its stdout. */
  async cli(args: string[], input?: string): Promise<string> {
    const { stdout } = await runTool(
      ["redis-cli", "-h", "127.0.0.1", "-p", String(this.port), ...args],
      input,
    );
    return stdout;
  }

  /** Everything the example wrote on stderr (after it exited). */
  stderr(): Promise<string> {
    return this.#stderr;
  }

  /** The example's next stdout line. */
  async nextLine(): Promise<string | undefined> {
    return (await this.#stdout.next()).value;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.process.kill("SIGKILL");
    await this.process.exited;
  }
}

/** Runs `command` (10 s at most), feeding it `input`; resolves with its output, rejects on failure. */
export async function runTool(
  command: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string }> {
  const child = Bun.spawn(command, {
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 10_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (status !== 0) {
    throw new Error(
      `${command.join(" ")} exited with ${status}${child.signalCode ? ` (${child.signalCode})` : ""}: ${stderr}`,
    );
  }
  return { stdout, stderr };
}
