/**
 * Memory per connection: many connections echoing 64 bytes at 1 in flight, and how much the
 * server's memory grows per connection, for giambio's `serve`, the hand-written `Bun.listen`
 * echo and the bare promise loop (the servers of `tcp-echo.bench.ts`).
 *
 * Each measurement starts a fresh server process and warms it up, as the CPU rows do, with
 * a short load of a tenth as many connections (closed again), so that the code the JIT
 * compiles for a load is in the idle size. The server then collects garbage, reports its
 * resident set size (RSS, from /proc/self/status) and resets the kernel's peak-RSS mark;
 * the load generator opens the connections and keeps them echoing; at the end of the
 * window, with every connection still open, the server reports its peak RSS. (peak − idle)
 * / connections is the row's figure: what a busy connection costs in real memory, garbage
 * not yet collected included. The connections' closing comes after, outside the figure
 * (`bench/tcp/reset-burst.ts` measures what a burst of resets costs). Linux only (on other
 * systems the suite reports no rows).
 *
 * The "per added connection" rows take the slope instead: each round also measures a load of
 * a tenth as many connections, and (growth at the full load − growth at the tenth) / (the
 * connections between them) leaves out what a server pays once, whatever its load: the
 * first blocks of each heap size class, Bun's buffers, code the warm-up did not compile.
 * (peak − idle) / connections spreads those over the connections.
 *
 * 10,000 connections need about 10,100 open files in each process; the soft limit is raised
 * to the hard one for the servers and the generator, and where the hard limit is lower the
 * rows use fewer connections (their name says how many).
 */
import { median, type Row, type Suite } from "./harness.ts";
import { EchoServer, openFileHardLimit, runLoad, type ServerKind } from "./tcp/processes.ts";

const CONNECTIONS = 10_000;
/** Open files a process needs besides one per connection (stdio, the listener, Bun's own). */
const SPARE_FILES = 100;
/** At most this many bytes of server memory per giambio connection (issue 12). */
const BYTES_PER_CONNECTION_TARGET = 4096;

export const suite: Suite = {
  name: "tcp-memory",
  async run({ quick }): Promise<Row[]> {
    if (process.platform !== "linux") return [];
    const hardLimit = await openFileHardLimit();
    const files = Math.min(hardLimit, 65_536);
    const wanted = quick ? 1_000 : CONNECTIONS;
    const connections =
      files >= wanted + SPARE_FILES
        ? wanted
        : Math.max(100, Math.floor((files - SPARE_FILES) / 100) * 100);
    const rounds = quick ? 1 : 3;
    const kinds: ServerKind[] = ["raw", "serve", "bare"];
    const few = connections / 10;
    const perConnection = new Map<ServerKind, number[]>(kinds.map((kind) => [kind, []]));
    const perAdded = new Map<ServerKind, number[]>(kinds.map((kind) => [kind, []]));
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < kinds.length; i++) {
        const kind = kinds[(round + i) % kinds.length] as ServerKind;
        const growth = await peakGrowth(kind, connections, files, quick);
        const fewGrowth = await peakGrowth(kind, few, files, quick);
        perConnection.get(kind)?.push(growth / connections);
        perAdded.get(kind)?.push((growth - fewGrowth) / (connections - few));
      }
    }
    const count = (n: number) => n.toLocaleString("en-US");
    const name = `memory ${count(connections)} conns × 64 B, 1 in flight: server peak RSS above idle`;
    const added = `memory ${count(few)} → ${count(connections)} conns × 64 B, 1 in flight: server peak RSS per added connection`;
    const row = (
      operation: string,
      figures: Map<ServerKind, number[]>,
      kind: ServerKind,
      extra: Pick<Row, "target"> = {},
    ): Row => {
      const ours = figures.get(kind) as number[];
      const baseline = figures.get("raw") as number[];
      return {
        operation,
        unit: "B/conn",
        ours: median(ours),
        baseline: median(baseline),
        rounds: { ours, baseline },
        // RSS moves with the collector's timing: wider than a CPU figure.
        tolerance: 0.5,
        ...extra,
      };
    };
    const target = { target: { ours: BYTES_PER_CONNECTION_TARGET } };
    return [
      row(name, perConnection, "serve", target),
      row(`${name}, bare promise loop`, perConnection, "bare"),
      row(added, perAdded, "serve", target),
      row(`${added}, bare promise loop`, perAdded, "bare"),
    ];
  },
};

/**
 * How far a fresh, warmed-up `kind` server's RSS peaks above its idle size with
 * `connections` echoing.
 */
async function peakGrowth(
  kind: ServerKind,
  connections: number,
  files: number,
  quick: boolean,
): Promise<number> {
  const server = await EchoServer.start(kind, 1, files);
  const load = { messageBytes: 64, inFlight: 1, prompted: false, files };
  try {
    await runLoad(server, {
      ...load,
      connections: Math.max(1, Math.round(connections / 10)),
      warmupMs: 100,
      durationMs: quick ? 100 : 300,
    });
    // Let the server see the warm-up's connections close before it measures its idle size.
    await Bun.sleep(100);
    const idle = await server.idleBytes();
    const { peakBytes } = await runLoad(server, {
      ...load,
      connections,
      warmupMs: quick ? 100 : 200,
      durationMs: quick ? 200 : 500,
      peak: true,
    });
    return (peakBytes as number) - idle;
  } finally {
    await server.stop();
  }
}
