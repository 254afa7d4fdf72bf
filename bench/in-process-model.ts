/**
 * What the in-process models (`bench/redis/in-process.ts`, `bench/tcp/in-process.ts`) share:
 * a stand-in for Bun's socket (also under `framing.bench.ts`'s streams), reaching a version's
 * socket layer with it, the CPU clock, and the rounds.
 *
 * A model runs servers in one process over stand-in sockets that Bun's own `data` callback
 * is fed with: no syscalls, so it shows the JavaScript alone, and servers (or two versions of
 * the code, `BASE=`) can be compared in one run, which is what a shared machine lets one trust.
 */
import { readFileSync } from "node:fs";
import type { SocketStream } from "../src/index.ts";

/** A version's internal hooks for a socket Bun opened: its stream, and Bun's callbacks. */
export interface Sockets {
  open(socket: never, unixPath: null): SocketStream;
  callbacks: { data(socket: never, chunk: Uint8Array): void };
}

/** The socket layer of the version of giambio whose checkout is at `root` (an absolute path). */
export async function socketsOf(root: string): Promise<Sockets> {
  const stream = await import(`${root}/src/net/stream.ts`);
  const { SOCKET_CALLBACKS } = await import(`${root}/src/net/transport-symbols.ts`);
  return { open: stream.openSocketStream, callbacks: stream.SocketStream[SOCKET_CALLBACKS] };
}

/**
 * CPU time so far, ns: the whole process (the collector's helper threads count), or with
 * `MAIN_THREAD` set the JS thread only (what the JavaScript itself costs).
 */
function cpuNs(): number {
  if (process.env["MAIN_THREAD"] !== undefined) {
    const [ns] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ");
    return Number(ns);
  }
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
}

/** A count from the command line (`rounds`, `depth`): a whole number from 1, else `fallback`. */
export function countArgument(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`${name} must be a whole number from 1, got ${JSON.stringify(text)}`);
  }
  return count;
}

/** How `measureModels` runs and reports. */
export interface ModelRun {
  /** Each server: one measured load, resolved when it is done. */
  servers: Record<string, () => Promise<unknown>>;
  /** The servers to run (default: all), in this order for the first round. */
  names: string[] | undefined;
  rounds: number;
  /** Units (requests, messages) in one load, to report CPU per unit. */
  units: number;
  /** What each printed line starts with ("depth 16", "echo"), and the unit ("req", "msg"). */
  label: string;
  unit: string;
  /** The server the ratios are taken against. */
  baseline: string;
}

/**
 * Warms every server once, then runs `rounds` rounds, each server once per round in an order
 * that rotates from round to round (a collection first, so no load pays for another's
 * garbage), and prints per server the median and lowest CPU per unit, the median's ratio to
 * the baseline's (when the baseline was run), and every round.
 */
export async function measureModels(run: ModelRun): Promise<void> {
  const known = Object.keys(run.servers);
  const names = run.names ?? known;
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown server ${unknown.join(", ")}; the servers are ${known.join(", ")}`);
  }
  const server = (name: string) => run.servers[name] as () => Promise<unknown>;
  const results: Record<string, number[]> = {};
  for (const name of names) {
    results[name] = [];
    await server(name)(); // warm-up
  }
  for (let round = 0; round < run.rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length] as string;
      Bun.gc(true);
      const start = cpuNs();
      await server(name)();
      (results[name] as number[]).push((cpuNs() - start) / run.units);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
  // Without the baseline among the servers run, there is no ratio to print.
  const baselineRounds = results[run.baseline];
  const baseline = baselineRounds === undefined ? null : median(baselineRounds);
  for (const name of names) {
    const values = results[name] as number[];
    const m = median(values);
    const ratio = baseline === null ? "    —" : `${(m / baseline).toFixed(2)}×`;
    const rounds = values.map((v) => v.toFixed(0)).join(" ");
    console.log(
      `${run.label} ${name.padEnd(12)} ${m.toFixed(0).padStart(6)} ns CPU/${run.unit}  ${ratio}  lowest ${Math.min(...values).toFixed(0)}  [${rounds}]`,
    );
  }
}

/** What the stream layer calls on one of Bun's sockets, with no I/O: a model's client. */
export abstract class StandInSocket {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort: number;
  readonly localPort: number;
  data: unknown;

  constructor(remotePort: number, localPort: number) {
    this.remotePort = remotePort;
    this.localPort = localPort;
  }

  /** Takes the bytes (the server's reply): returns how many, as Bun's `write` does. */
  abstract write(bytes: Uint8Array, offset?: number, length?: number): number;

  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  shutdown(): void {}
  end(): void {}
  terminate(): void {}
}
