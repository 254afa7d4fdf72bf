/**
 * TCP echo: what serving a connection through giambio costs the server, against the
 * cheapest correct hand-written `Bun.listen` echo, with the floor of any loop per
 * connection beside it.
 *
 * Server processes (`bench/tcp/echo-server.ts`): (a) `raw` — write what arrives, keep what
 * `write` did not take, pause reading until `drain` has written it; (b) `serve` — `serve`
 * with a handler that loops `receive()` → `sendAll()`; (c) `bare` — the same loop on plain
 * promises, one `AsyncLocalStorage.run` per connection, no giambio: what an async loop per
 * connection costs at least. A load generator (`bench/tcp/loadgen.ts`) keeps N messages in
 * flight per connection. Each server stays up for the whole suite; each round measures every
 * server of a shape, in an order that rotates from round to round. The two-write shapes use
 * servers that also send a prompt after each echoed chunk.
 *
 * Per load run: the server's own CPU time (`process.cpuUsage()`, every thread, read over
 * stdin just before and after the measured window) divided by the messages echoed in the
 * window gives CPU per message; the window's length divided by the messages gives wall time
 * per message (inverse throughput, so lower is better like every other row). Each figure is
 * the median over the rounds. The load generator shares the machine's two cores with the
 * server, so the wall-time rows are noisier than the CPU rows.
 */
import { median, type Row, type Suite } from "./harness.ts";
import { EchoServer, type LoadResult, runLoad, type ServerKind } from "./tcp/processes.ts";

interface Shape {
  connections: number;
  messageBytes: number;
  inFlight: number;
  /** Also measure the two-write servers (the echo, then a "-> " prompt) on this shape. */
  twoWrites: boolean;
}

const SHAPES: Shape[] = [
  { connections: 64, messageBytes: 64, inFlight: 1, twoWrites: true },
  { connections: 64, messageBytes: 64, inFlight: 16, twoWrites: true },
  { connections: 8, messageBytes: 16384, inFlight: 1, twoWrites: false },
];

/** `serve` echo at most this many times the hand-written server's CPU (issue 12). */
const SERVE_TARGET = 1.08;
/** 16 KiB bulk: ours at most this many times the hand-written server's CPU. */
const BULK_TARGET = 1.05;
/**
 * A reply made of two small `sendAll`s, coalesced into one `write`, at most this many times
 * the one-write hand-written echo.
 */
const TWO_WRITE_TARGET = 1.15;

/** A server of the suite: its kind and how many writes it answers each chunk with. */
type ServerKey = `${ServerKind} ${1 | 2}`;

interface Measurement {
  /** Server CPU per echoed message, ns. */
  cpu: number;
  /** Wall time per echoed message, ns. */
  wall: number;
}

function perMessage(result: LoadResult): Measurement {
  return {
    cpu: (result.cpuMicros * 1e3) / result.messages,
    wall: (result.ms * 1e6) / result.messages,
  };
}

function name(shape: Shape, writes: 1 | 2): string {
  const size =
    shape.messageBytes >= 1024 ? `${shape.messageBytes / 1024} KiB` : `${shape.messageBytes} B`;
  const suffix = writes === 2 ? ", 2 writes" : "";
  return `tcp echo ${shape.connections} conns × ${size}, ${shape.inFlight} in flight${suffix}`;
}

/** A row comparing server `ours` with server `baseline` on one figure, round by round. */
function row(
  operation: string,
  figure: keyof Measurement,
  ours: Measurement[],
  baseline: Measurement[],
  extra: Pick<Row, "target" | "tolerance">,
): Row {
  const oursRounds = ours.map((m) => m[figure]);
  const baselineRounds = baseline.map((m) => m[figure]);
  return {
    operation,
    unit: figure === "cpu" ? "ns CPU/msg" : "ns/msg",
    ours: median(oursRounds),
    baseline: median(baselineRounds),
    rounds: { ours: oursRounds, baseline: baselineRounds },
    ...extra,
  };
}

export const suite: Suite = {
  name: "tcp-echo",
  async run({ quick }): Promise<Row[]> {
    const rounds = quick ? 1 : 6;
    const warmupMs = quick ? 100 : 150;
    const durationMs = quick ? 200 : 400;
    const servers = new Map<ServerKey, EchoServer>();
    const server = async (key: ServerKey) => {
      let started = servers.get(key);
      if (started === undefined) {
        const [kind, writes] = key.split(" ") as [ServerKind, "1" | "2"];
        started = await EchoServer.start(kind, Number(writes) as 1 | 2);
        servers.set(key, started);
        // Not measured: a fresh server's first load otherwise carries the JIT compiling it
        // (threads whose CPU counts): up to 1.9× what its later rounds read.
        if (!quick) {
          const { connections, messageBytes, inFlight } = SHAPES[0] as Shape;
          await runLoad(started, {
            connections,
            messageBytes,
            inFlight,
            prompted: writes === "2",
            warmupMs: 1_000,
            durationMs: 100,
          });
        }
      }
      return started;
    };
    try {
      const rows: Row[] = [];
      for (const shape of SHAPES) {
        const keys: ServerKey[] = ["raw 1", "serve 1", "bare 1"];
        if (shape.twoWrites) keys.push("raw 2", "serve 2", "bare 2");
        const measured = new Map<ServerKey, Measurement[]>(keys.map((key) => [key, []]));
        for (let round = 0; round < rounds; round++) {
          // Rotate the order, so that drift and bursts of load hit every server alike.
          for (let i = 0; i < keys.length; i++) {
            const key = keys[(round + i) % keys.length] as ServerKey;
            const result = await runLoad(await server(key), {
              connections: shape.connections,
              messageBytes: shape.messageBytes,
              inFlight: shape.inFlight,
              prompted: key.endsWith("2"),
              warmupMs,
              durationMs,
            });
            measured.get(key)?.push(perMessage(result));
          }
        }
        const of = (key: ServerKey) => measured.get(key) as Measurement[];
        const bulk = shape.messageBytes >= 1024;
        const target = { ratio: bulk ? BULK_TARGET : SERVE_TARGET };
        const one = name(shape, 1);
        rows.push(
          row(`${one}: server CPU`, "cpu", of("serve 1"), of("raw 1"), {
            target,
            tolerance: 0.4,
          }),
          // Throughput at least 0.90× the hand-written server's.
          row(`${one}: wall time`, "wall", of("serve 1"), of("raw 1"), {
            target: { ratio: 1.11 },
            tolerance: 0.5,
          }),
          // The floor: no loop per connection on promises is cheaper than this.
          row(`${one}: bare promise loop, server CPU`, "cpu", of("bare 1"), of("raw 1"), {
            tolerance: 0.4,
          }),
        );
        if (!shape.twoWrites) continue;
        const two = name(shape, 2);
        rows.push(
          // By hand each write is a syscall; giambio coalesces the two into one.
          row(`${two}: server CPU`, "cpu", of("serve 2"), of("raw 2"), { tolerance: 0.4 }),
          row(`${two}: wall time`, "wall", of("serve 2"), of("raw 2"), {
            target: { ratio: 1.11 },
            tolerance: 0.5,
          }),
          row(`${two}: bare promise loop, server CPU`, "cpu", of("bare 2"), of("raw 2"), {
            tolerance: 0.4,
          }),
          // What coalescing is for: two small writes cost about one.
          row(`${two}: server CPU vs 1-write by hand`, "cpu", of("serve 2"), of("raw 1"), {
            target: { ratio: TWO_WRITE_TARGET },
            tolerance: 0.4,
          }),
        );
      }
      return rows;
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()));
    }
  },
};
