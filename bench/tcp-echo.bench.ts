/**
 * TCP echo: what serving a connection through giambio costs the server, against the
 * cheapest correct hand-written `Bun.listen` echo.
 *
 * Three processes: (a) `bench/tcp/echo-server.ts raw` — write what arrives, keep what
 * `write` did not take, pause reading until `drain` has written it; (b) `echo-server.ts
 * serve` — `serve` with a handler that loops `receive()` → `sendAll()`; and the load
 * generator (`bench/tcp/loadgen.ts`), which keeps N messages in flight per connection.
 * Each server stays up for the whole suite; load runs alternate between the two kinds. The
 * two-write loads use servers that also send a prompt after each echoed chunk.
 *
 * Per load run: the server's own CPU time (`process.cpuUsage()`, every thread, read over
 * stdin just before and after the measured window) divided by the messages echoed in the
 * window gives CPU per message; the window's length divided by the messages gives wall time
 * per message (inverse throughput, so lower is better like every other row). Each figure is
 * the median over the rounds. The load generator shares the machine's two cores with the
 * server, so the wall-time rows are noisier than the CPU rows.
 */
import type { Subprocess } from "bun";
import { median, type Row, type Suite } from "./harness.ts";

const DIR = `${import.meta.dir}/tcp`;

/**
 * On Linux with two or more cores, the servers run on core 0 and the load generator on
 * core 1, so that each server always meets the same neighbours (the scheduler would
 * otherwise move them around, and CPU per message moves with them).
 */
const pinned =
  process.platform === "linux" &&
  navigator.hardwareConcurrency >= 2 &&
  Bun.which("taskset") !== null;
const onCore = (core: number, command: string[]) =>
  pinned ? ["taskset", "-c", String(core), ...command] : command;

interface Load {
  connections: number;
  messageBytes: number;
  inFlight: number;
  /** Writes per echoed chunk: 1 (the echo), or 2 (the echo, then a "-> " prompt). */
  writes: 1 | 2;
}

const LOADS: Load[] = [
  { connections: 64, messageBytes: 64, inFlight: 1, writes: 1 },
  { connections: 64, messageBytes: 64, inFlight: 16, writes: 1 },
  { connections: 8, messageBytes: 16384, inFlight: 1, writes: 1 },
  // A protocol handler that answers with several sendAll calls (the seed's echo: the echo,
  // then the prompt): by hand that is one write syscall each; giambio coalesces the writes
  // a connection makes within one step of the loop into one.
  { connections: 64, messageBytes: 64, inFlight: 1, writes: 2 },
  { connections: 64, messageBytes: 64, inFlight: 16, writes: 2 },
];

interface Measurement {
  /** Server CPU per echoed message, ns. */
  cpu: number;
  /** Wall time per echoed message, ns. */
  wall: number;
}

/** An echo server process that reports its CPU time on request. */
class EchoServer {
  readonly port: number;
  readonly #process: Subprocess<"pipe", "pipe", "inherit">;
  readonly #lines: AsyncIterator<string>;

  static async start(kind: "raw" | "serve", writes: 1 | 2): Promise<EchoServer> {
    const child = Bun.spawn(onCore(0, ["bun", `${DIR}/echo-server.ts`, kind, String(writes)]), {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
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
  async cpu(): Promise<number> {
    this.#process.stdin.write("cpu\n");
    this.#process.stdin.flush();
    const { value } = await this.#lines.next();
    const cpu = Number(/^cpu (\d+)$/.exec(value ?? "")?.[1]);
    if (!(cpu > 0)) throw new Error(`unexpected answer from the echo server: ${value}`);
    return cpu;
  }

  async stop(): Promise<void> {
    this.#process.stdin.end();
    this.#process.kill();
    await this.#process.exited;
  }
}

/** One load run against `server`. */
async function measure(
  server: EchoServer,
  load: Load,
  warmupMs: number,
  durationMs: number,
): Promise<Measurement> {
  const generator = Bun.spawn(
    onCore(1, [
      "bun",
      `${DIR}/loadgen.ts`,
      ...[
        server.port,
        load.connections,
        load.messageBytes,
        load.inFlight,
        warmupMs,
        durationMs,
        load.writes === 2 ? 1 : 0,
      ].map(String),
    ]),
    { stdout: "pipe", stderr: "inherit" },
  );
  const lines = readLines(generator.stdout);
  if ((await lines.next()).value !== "start") throw new Error("the load generator failed");
  const cpuBefore = await server.cpu();
  const done = /^done (\S+) (\S+)$/.exec((await lines.next()).value ?? "");
  const cpuAfter = await server.cpu();
  await generator.exited;
  const messages = Number(done?.[1]);
  const ms = Number(done?.[2]);
  if (!(messages > 0)) throw new Error("the load generator echoed nothing");
  return { cpu: ((cpuAfter - cpuBefore) * 1e3) / messages, wall: (ms * 1e6) / messages };
}

function name(load: Load): string {
  const size =
    load.messageBytes >= 1024 ? `${load.messageBytes / 1024} KiB` : `${load.messageBytes} B`;
  const writes = load.writes === 2 ? ", 2 writes" : "";
  return `tcp echo ${load.connections} conns × ${size}, ${load.inFlight} in flight${writes}`;
}

export const suite: Suite = {
  name: "tcp-echo",
  async run({ quick }): Promise<Row[]> {
    const rounds = quick ? 1 : 8;
    const warmupMs = quick ? 100 : 150;
    const durationMs = quick ? 200 : 500;
    const servers = new Map<string, EchoServer>();
    const server = async (kind: "raw" | "serve", writes: 1 | 2) => {
      const key = `${kind} ${writes}`;
      let started = servers.get(key);
      if (started === undefined) {
        started = await EchoServer.start(kind, writes);
        servers.set(key, started);
      }
      return started;
    };
    try {
      const rows: Row[] = [];
      for (const load of LOADS) {
        const raw = await server("raw", load.writes);
        const served = await server("serve", load.writes);
        const ours: Measurement[] = [];
        const baseline: Measurement[] = [];
        for (let round = 0; round < rounds; round++) {
          // Alternate which goes first, so drift hits both alike.
          if (round % 2 === 0) baseline.push(await measure(raw, load, warmupMs, durationMs));
          ours.push(await measure(served, load, warmupMs, durationMs));
          if (round % 2 === 1) baseline.push(await measure(raw, load, warmupMs, durationMs));
        }
        rows.push(
          {
            operation: `${name(load)}: server CPU`,
            unit: "ns CPU/msg",
            ours: median(ours.map((m) => m.cpu)),
            baseline: median(baseline.map((m) => m.cpu)),
            // Coalescing the two writes into one should make ours cheaper than by hand.
            target: { ratio: load.writes === 2 ? 0.8 : 1.1 },
            tolerance: 0.4,
          },
          {
            operation: `${name(load)}: wall time`,
            unit: "ns/msg",
            ours: median(ours.map((m) => m.wall)),
            baseline: median(baseline.map((m) => m.wall)),
            // Throughput at least 0.90× the hand-written server's.
            target: { ratio: 1.11 },
            tolerance: 0.5,
          },
        );
      }
      return rows;
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()));
    }
  },
};

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
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
