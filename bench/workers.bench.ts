/**
 * Workers: echo through `serve({ workers })`. Every server runs
 * `bench/tcp/workers-echo-server.ts`; the load generator is `bench/tcp/loadgen.ts`, 64 B
 * messages, 16 in flight on each connection, as fast as the server answers; the kernel
 * spreads the connections over the processes sharing the port (`reusePort`).
 *
 * Per load run: the CPU time of the server (the primary and every worker: every thread's run
 * time from /proc, so Linux only) over the measured window, divided by the messages echoed,
 * gives CPU per message. Wall time per message is inverse throughput.
 *
 * Caveat, measured: this machine has 2 cores, shared by the load generator, the workers and
 * other work. Two worker processes and the load generator are three busy processes on two
 * cores: each worker sleeps and wakes far more often per message (about 18 voluntary context
 * switches per 1000 messages against 2 for one worker, for the same read and write system
 * calls per message), and the CPU per message grows by 1.2–1.4×. Two processes started by
 * hand, without any worker machinery, grow just as much, so the row that holds the claim
 * ("what a worker costs does not grow with the number of workers") compares `workers: 2`
 * with two hand-started processes serving the same port with `reusePort`, each in a session
 * of its own as a worker is (the scheduler's autogroups follow sessions, and they change how
 * often the processes are switched), under the same load; the server without workers runs
 * in a session of its own too. The growth itself is reported without a target; 2 workers
 * cannot show 2× the throughput here.
 */

import type { Subprocess } from "bun";
import { median, type Row, type Suite } from "./harness.ts";
import { processCpu } from "./process-cpu.ts";

const DIR = `${import.meta.dir}/tcp`;

type Echoer = Subprocess<"ignore", "pipe", "inherit">;

/** Echo server processes serving one port: their pids (primary included) and the port. */
class EchoServer {
  private constructor(
    /** The processes this bench started (and stops). */
    readonly started: Echoer[],
    /** Every process whose CPU counts: the primary and its workers, or the hand-started ones. */
    readonly pids: number[],
    readonly port: number,
  ) {}

  /**
   * `serve({ workers: count })`, or with 0 the same server without workers, in a session of
   * its own as a worker is.
   */
  static async workers(count: number): Promise<EchoServer> {
    const primary = spawnEchoer([String(count)], count === 0);
    const { pids, port } = await announced(primary, Math.max(count, 1));
    return EchoServer.ready([primary], count === 0 ? pids : [primary.pid, ...pids], port);
  }

  /** `count` processes started by hand, each listening on one port with `reusePort`. */
  static async handStarted(count: number): Promise<EchoServer> {
    const port = freePort();
    const started = Array.from({ length: count }, () => spawnEchoer(["0", String(port)], true));
    const each = await Promise.all(started.map((child) => announced(child, 1)));
    return EchoServer.ready(
      started,
      each.flatMap(({ pids }) => pids),
      port,
    );
  }

  private static async ready(started: Echoer[], pids: number[], port: number) {
    await Bun.sleep(500); // workers print before they bind
    return new EchoServer(started, pids, port);
  }

  /** CPU time of every process so far, ns. */
  cpu(): number {
    let total = 0;
    for (const pid of this.pids) total += processCpu(pid);
    return total;
  }

  async stop(): Promise<void> {
    for (const child of this.started) child.kill("SIGTERM");
    await Promise.all(this.started.map((child) => child.exited));
  }
}

/** `detached`: a session of its own, as `serve({ workers })` gives each worker. */
function spawnEchoer(args: string[], detached: boolean): Echoer {
  return Bun.spawn(["bun", `${DIR}/workers-echo-server.ts`, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
    detached,
  });
}

/** Reads `worker <pid> <port>` lines from `child`'s stdout until `count` pids have appeared. */
async function announced(child: Echoer, count: number): Promise<{ pids: number[]; port: number }> {
  const pids: number[] = [];
  let port = 0;
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = child.stdout.getReader();
  while (pids.length < count) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the workers echo server exited before it served");
    buffered += decoder.decode(value, { stream: true });
    for (const match of buffered.matchAll(/^worker (\d+) (\d+)$/gm)) {
      if (!pids.includes(Number(match[1]))) pids.push(Number(match[1]));
      port = Number(match[2]);
    }
  }
  reader.releaseLock();
  return { pids, port };
}

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

interface Measurement {
  /** Server CPU per message, ns. */
  cpu: number;
  /** Wall time per message, ns. */
  wall: number;
}

async function measure(
  server: EchoServer,
  connections: number,
  warmupMs: number,
  durationMs: number,
): Promise<Measurement> {
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
  return { cpu: (after - before) / messages, wall: (Number(done[2]) * 1e6) / messages };
}

/** A row from per-round measurements of both sides (rounds in the same order). */
function row(
  operation: string,
  unit: string,
  figure: (m: Measurement) => number,
  ours: Measurement[],
  baseline: Measurement[],
  extra: Pick<Row, "target" | "tolerance">,
): Row {
  const o = ours.map(figure);
  const b = baseline.map(figure);
  return {
    operation,
    unit,
    ours: median(o),
    baseline: median(b),
    rounds: { ours: o, baseline: b },
    ...extra,
  };
}

export const suite: Suite = {
  name: "workers",
  async run({ quick }): Promise<Row[]> {
    if (process.platform !== "linux") return [];
    const rounds = quick ? 1 : 6;
    const warmupMs = quick ? 100 : 200;
    const durationMs = quick ? 300 : 1000;
    const servers = {
      none: await EchoServer.workers(0),
      one: await EchoServer.workers(1),
      two: await EchoServer.workers(2),
      pair: await EchoServer.handStarted(2),
    };
    try {
      const loads = {
        none32: { server: servers.none, connections: 32 },
        one32: { server: servers.one, connections: 32 },
        one64: { server: servers.one, connections: 64 },
        two64: { server: servers.two, connections: 64 },
        pair64: { server: servers.pair, connections: 64 },
      };
      type Load = keyof typeof loads;
      const runs = Object.fromEntries(
        Object.keys(loads).map((key) => [key, [] as Measurement[]]),
      ) as Record<Load, Measurement[]>;
      for (let round = 0; round < rounds; round++) {
        // Alternate the order, so drift hits every server alike.
        const order = Object.keys(loads) as Load[];
        if (round % 2 === 1) order.reverse();
        for (const key of order) {
          const { server, connections } = loads[key];
          runs[key].push(await measure(server, connections, warmupMs, durationMs));
        }
      }
      const cpu = (m: Measurement) => m.cpu;
      const wall = (m: Measurement) => m.wall;
      const load = "echo 64 B, 16 in flight per connection";
      return [
        row(
          // The same server without workers: what the machinery (primary included) costs.
          `workers ${load}: CPU/msg, 1 worker vs no workers (32 conns)`,
          "ns CPU/msg",
          cpu,
          runs.one32,
          runs.none32,
          { target: { ratio: 1.05 }, tolerance: 0.5 },
        ),
        row(
          // Two processes either way: what each worker pays for being one of two workers.
          `workers ${load}: CPU/msg, 2 workers vs 2 hand-started reusePort processes (64 conns)`,
          "ns CPU/msg",
          cpu,
          runs.two64,
          runs.pair64,
          { target: { ratio: 1.1 }, tolerance: 0.5 },
        ),
        row(
          // The machine's share: three busy processes on two cores (see the file's comment).
          `workers ${load}: CPU/msg, 64 conns on 2 workers vs on 1`,
          "ns CPU/msg",
          cpu,
          runs.two64,
          runs.one64,
          { tolerance: 0.5 },
        ),
        row(
          `workers ${load}: wall time, 64 conns on 2 workers vs on 1 (2 shared cores)`,
          "ns/msg",
          wall,
          runs.two64,
          runs.one64,
          { tolerance: 0.6 },
        ),
      ];
    } finally {
      await Promise.all(Object.values(servers).map((server) => server.stop()));
    }
  },
};
