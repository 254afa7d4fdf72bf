/**
 * The processes of the TCP benchmarks: an echo server (`echo-server.ts`) that stays up and
 * answers questions about itself over stdin, and one load generator (`loadgen.ts`) per load
 * run. Shared by the throughput suite (`tcp-echo.bench.ts`) and the memory suite
 * (`tcp-memory.bench.ts`).
 */
import type { Subprocess } from "bun";

const DIR = import.meta.dir;

/**
 * On Linux with two or more cores, the servers run on core 0 and the load generator on
 * core 1, so that each server always meets the same neighbours (the scheduler would
 * otherwise move them around, and CPU per message moves with them).
 */
const pinned =
  process.platform === "linux" &&
  navigator.hardwareConcurrency >= 2 &&
  Bun.which("taskset") !== null;

/**
 * `command` pinned to `core` (where that works), with the soft open-file limit raised to
 * `files` when asked (a 10,000-connection load needs that many descriptors on each side).
 */
export function command(core: number, argv: string[], files: number | undefined): string[] {
  const pinnedArgv = pinned ? ["taskset", "-c", String(core), ...argv] : argv;
  if (files === undefined) return pinnedArgv;
  return ["sh", "-c", `ulimit -n ${files} && exec "$@"`, "sh", ...pinnedArgv];
}

/** The hard limit on open files of processes started from here (what `ulimit -n` may reach). */
export async function openFileHardLimit(): Promise<number> {
  const child = Bun.spawn(["sh", "-c", "ulimit -Hn"], { stdout: "pipe" });
  const text = (await new Response(child.stdout).text()).trim();
  await child.exited;
  return text === "unlimited" ? Number.POSITIVE_INFINITY : Number(text);
}

export type ServerKind = "raw" | "serve" | "bare";

export interface Load {
  connections: number;
  messageBytes: number;
  inFlight: number;
  /** The server adds a prompt to each echo: the generator counts only the load's bytes. */
  prompted: boolean;
  warmupMs: number;
  durationMs: number;
  /** Soft open-file limit for the generator (see `command`). */
  files?: number;
  /** Also read the server's peak RSS (`EchoServer.peakBytes`) at the end of the window. */
  peak?: boolean;
}

/** What one load run measured. */
export interface LoadResult {
  /** Messages echoed in the measured window. */
  messages: number;
  /** The window's length, ms. */
  ms: number;
  /** The server's CPU time in the window, µs. */
  cpuMicros: number;
  /** With `Load.peak`: the server's peak RSS at the end of the window, bytes. */
  peakBytes?: number;
}

/** An echo server process that reports its CPU time and memory on request. */
export class EchoServer {
  readonly port: number;
  readonly #process: Subprocess<"pipe", "pipe", "inherit">;
  readonly #lines: AsyncIterator<string>;

  static async start(kind: ServerKind, writes: 1 | 2, files?: number): Promise<EchoServer> {
    const child = Bun.spawn(
      command(0, ["bun", `${DIR}/echo-server.ts`, kind, String(writes)], files),
      { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
    );
    const lines = readLines(child.stdout);
    const first = await lines.next();
    const port = Number(/^listening (\d+)$/.exec(first.value ?? "")?.[1]);
    if (!(port > 0)) {
      child.kill();
      throw new Error(`echo server '${kind}' did not start: ${first.value}`);
    }
    return new EchoServer(child, lines, port);
  }

  private constructor(
    child: Subprocess<"pipe", "pipe", "inherit">,
    lines: AsyncIterator<string>,
    port: number,
  ) {
    this.#process = child;
    this.#lines = lines;
    this.port = port;
  }

  /** The server's CPU time so far, in µs. */
  cpu(): Promise<number> {
    return this.#ask("cpu");
  }

  /** Collects garbage, then returns the resident set size and resets the peak mark. */
  idleBytes(): Promise<number> {
    return this.#ask("idle");
  }

  /** The peak resident set size since `idleBytes()`. */
  peakBytes(): Promise<number> {
    return this.#ask("peak");
  }

  async #ask(question: "cpu" | "idle" | "peak"): Promise<number> {
    this.#process.stdin.write(`${question}\n`);
    this.#process.stdin.flush();
    const { value } = await this.#lines.next();
    const match = /^(\w+) (\d+)$/.exec(value ?? "");
    const answer = Number(match?.[2]);
    if (match?.[1] !== question || !(answer > 0)) {
      throw new Error(`unexpected answer from the echo server to '${question}': ${value}`);
    }
    return answer;
  }

  async stop(): Promise<void> {
    this.#process.stdin.end();
    this.#process.kill();
    await this.#process.exited;
  }
}

/**
 * One load run against `server`: its CPU time (and with `peak`, its peak RSS) is read just
 * before and after the window, while every connection is still open; then the generator
 * closes them.
 */
export async function runLoad(server: EchoServer, load: Load): Promise<LoadResult> {
  const generator = Bun.spawn(
    command(
      1,
      [
        "bun",
        `${DIR}/loadgen.ts`,
        ...[
          server.port,
          load.connections,
          load.messageBytes,
          load.inFlight,
          load.warmupMs,
          load.durationMs,
          load.prompted ? 1 : 0,
        ].map(String),
      ],
      load.files,
    ),
    { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
  );
  try {
    const lines = readLines(generator.stdout);
    if ((await lines.next()).value !== "start") throw new Error("the load generator failed");
    const cpuBefore = await server.cpu();
    const done = /^done (\S+) (\S+)$/.exec((await lines.next()).value ?? "");
    const cpuAfter = await server.cpu();
    const peak = load.peak === true ? { peakBytes: await server.peakBytes() } : {};
    const messages = Number(done?.[1]);
    const ms = Number(done?.[2]);
    if (!(messages > 0)) throw new Error("the load generator echoed nothing");
    return { messages, ms, cpuMicros: cpuAfter - cpuBefore, ...peak };
  } finally {
    // The end of its stdin lets the generator close the connections and exit (on an error
    // here too: it is never left holding them).
    generator.stdin.end();
    await generator.exited;
  }
}

/** The lines of a child's output, as they arrive. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let newline = buffered.indexOf("\n"); newline !== -1; newline = buffered.indexOf("\n")) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
}
