/**
 * Workers: echo through `serve({ workers: 2 })` against `serve({ workers: 1 })` (the row's
 * baseline is the one-worker server, not a hand-written one). Both servers run
 * `bench/tcp/workers-echo-server.ts`; the load generator is `bench/tcp/loadgen.ts`, 64
 * connections × 64 B, 16 messages in flight each; the kernel spreads the connections over
 * the workers (`reusePort`).
 *
 * Per load run: the CPU time of every worker process (utime + stime from /proc, so Linux
 * only) over the measured window, divided by the messages echoed, gives CPU per message,
 * the cost of a message in any worker: it must not grow with the number of workers (target
 * ratio 1.2, as the extra worker shares caches and the 2 cores). Wall time per message is
 * inverse throughput. Caveat: this machine has 2 cores, shared by the load generator and
 * the workers (and other work), so 2 workers cannot show a 2× throughput here; the row shows
 * that adding workers costs nothing per message, not how far they scale.
 */
import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { median, type Row, type Suite } from "./harness.ts";

const DIR = `${import.meta.dir}/tcp`;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** A `serve({ workers })` echo server: its primary, its workers' pids and the port. */
class WorkersServer {
  private constructor(
    readonly primary: Subprocess<"ignore", "pipe", "inherit">,
    readonly workers: number[],
    readonly port: number,
  ) {}

  static async start(count: number): Promise<WorkersServer> {
    const primary = Bun.spawn(["bun", `${DIR}/workers-echo-server.ts`, String(count)], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "inherit",
    });
    const workers: number[] = [];
    let port = 0;
    const decoder = new TextDecoder();
    let buffered = "";
    const reader = primary.stdout.getReader();
    while (workers.length < Math.max(count, 1)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the workers echo server exited before its workers started");
      buffered += decoder.decode(value, { stream: true });
      for (const match of buffered.matchAll(/^worker (\d+) (\d+)$/gm)) {
        if (!workers.includes(Number(match[1]))) workers.push(Number(match[1]));
        port = Number(match[2]);
      }
    }
    reader.releaseLock();
    await Bun.sleep(500); // the workers print before they bind
    return new WorkersServer(primary, workers, port);
  }

  /** CPU time of every worker so far, µs. */
  cpu(): number {
    let ticks = 0;
    for (const pid of this.workers) {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
    return (ticks * 1e6) / TICKS_PER_SECOND;
  }

  async stop(): Promise<void> {
    this.primary.kill("SIGTERM");
    await this.primary.exited;
  }
}

async function measure(
  server: WorkersServer,
  connections: number,
  warmupMs: number,
  durationMs: number,
) {
  const generator = Bun.spawn(
    [
      "bun",
      `${DIR}/loadgen.ts`,
      ...[server.port, connections, 64, 16, warmupMs, durationMs, 0].map(String),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const reader = generator.stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  const line = async (pattern: RegExp) => {
    for (;;) {
      const match = pattern.exec(output);
      if (match !== null) return match;
      const { value, done } = await reader.read();
      if (done) throw new Error(`the load generator stopped: ${output}`);
      output += decoder.decode(value, { stream: true });
    }
  };
  await line(/^start$/m);
  const before = server.cpu();
  const done = await line(/^done (\S+) (\S+)$/m);
  const after = server.cpu();
  await generator.exited;
  const messages = Number(done[1]);
  if (!(messages > 0)) throw new Error("the load generator echoed nothing");
  return { cpu: ((after - before) * 1e3) / messages, wall: (Number(done[2]) * 1e6) / messages };
}

export const suite: Suite = {
  name: "workers",
  async run({ quick }): Promise<Row[]> {
    if (process.platform !== "linux") return [];
    const rounds = quick ? 1 : 6;
    const warmupMs = quick ? 100 : 200;
    const durationMs = quick ? 300 : 1000;
    const none = await WorkersServer.start(0);
    const one = await WorkersServer.start(1);
    const two = await WorkersServer.start(2);
    try {
      type Measurement = { cpu: number; wall: number };
      const runs = {
        none32: [] as Measurement[],
        one32: [] as Measurement[],
        one64: [] as Measurement[],
        two64: [] as Measurement[],
      };
      for (let round = 0; round < rounds; round++) {
        // Alternate the order, so drift hits every server alike.
        const order: (keyof typeof runs)[] = ["none32", "one32", "one64", "two64"];
        if (round % 2 === 1) order.reverse();
        for (const key of order) {
          const server = key === "none32" ? none : key === "two64" ? two : one;
          const connections = key.endsWith("32") ? 32 : 64;
          runs[key].push(await measure(server, connections, warmupMs, durationMs));
        }
      }
      const cpu = (ms: Measurement[]) => median(ms.map((m) => m.cpu));
      const wall = (ms: Measurement[]) => median(ms.map((m) => m.wall));
      const load = "echo 64 B, 16 in flight per connection";
      return [
        {
          // One worker against the same server without workers: what the machinery costs.
          operation: `workers ${load}: CPU/msg, 1 worker vs no workers (32 conns)`,
          unit: "ns CPU/msg",
          ours: cpu(runs.one32),
          baseline: cpu(runs.none32),
          target: { ratio: 1.05 },
          tolerance: 0.5,
        },
        {
          // The same load per worker (32 connections each): what a worker pays per message.
          operation: `workers ${load}: CPU/msg, 2 workers × 32 conns vs 1 worker × 32 conns`,
          unit: "ns CPU/msg",
          ours: cpu(runs.two64),
          baseline: cpu(runs.one32),
          target: { ratio: 1.1 },
          tolerance: 0.5,
        },
        {
          // The same total load: each of 2 workers is half as busy, so batches less per wake-up.
          operation: `workers ${load}: CPU/msg, 64 conns on 2 workers vs on 1`,
          unit: "ns CPU/msg",
          ours: cpu(runs.two64),
          baseline: cpu(runs.one64),
          tolerance: 0.5,
        },
        {
          operation: `workers ${load}: wall time, 64 conns on 2 workers vs on 1 (2 shared cores)`,
          unit: "ns/msg",
          ours: wall(runs.two64),
          baseline: wall(runs.one64),
          tolerance: 0.6,
        },
      ];
    } finally {
      await Promise.all([none.stop(), one.stop(), two.stop()]);
    }
  },
};
