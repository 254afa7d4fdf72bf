/**
 * What a burst of ended connections costs a server in memory: a diagnostic beside the memory
 * suite, whose peak includes such a burst (its load generator exits with replies in flight,
 * so most of its connections end in a reset). Not a suite: it prints figures, no verdicts.
 *
 *   bun bench/tcp/reset-burst.ts [connections=3000] [rst|end] [rounds=3]
 *
 * For each echo server of `echo-server.ts` (hand-written, giambio's `serve`, the bare promise
 * loop), in turn: a client process opens the connections and makes one round trip on each;
 * once they are idle, the server collects garbage and notes its resident set size; then the
 * client resets them all at once (`rst`: `terminate()`, a TCP RST) or closes them (`end`: a
 * FIN), and exits. The figure is the server's peak RSS during the teardown above that idle
 * size, per connection: what the servers allocate while thousands of connections end within
 * a few milliseconds, before the collector catches up.
 *
 *   bun bench/tcp/reset-burst.ts --client <port> <connections>   # the client (internal)
 */
import { median } from "../harness.ts";
import { command, EchoServer, openFileHardLimit, readLines, type ServerKind } from "./processes.ts";

if (process.argv[2] === "--client") {
  await client(Number(process.argv[3]), Number(process.argv[4]));
} else {
  const connections = Number(process.argv[2] ?? 3000);
  const mode = process.argv[3] ?? "rst";
  const rounds = Number(process.argv[4] ?? 3);
  if (!(connections > 0) || (mode !== "rst" && mode !== "end") || !(rounds > 0)) {
    console.error(
      `usage: bun bench/tcp/reset-burst.ts [connections=3000] [rst|end] [rounds=3] (got: ${process.argv.slice(2).join(" ")})`,
    );
    process.exit(2);
  }
  const files = Math.min(await openFileHardLimit(), 65_536);
  if (files < connections + 100) {
    console.error(
      `${connections} connections need ${connections + 100} open files; the limit is ${files}`,
    );
    process.exit(2);
  }
  const kinds: ServerKind[] = ["raw", "serve", "bare"];
  const figures = new Map<ServerKind, number[]>(kinds.map((kind) => [kind, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(round + i) % kinds.length] as ServerKind;
      figures.get(kind)?.push(await burstGrowth(kind, connections, mode, files));
    }
  }
  for (const [kind, bytes] of figures) {
    console.log(
      `${kind.padEnd(5)} ${mode} of ${connections}: ${Math.round(median(bytes))} B/conn peak RSS above idle (rounds: ${bytes.map(Math.round).join(", ")})`,
    );
  }
}

async function burstGrowth(
  kind: ServerKind,
  connections: number,
  mode: string,
  files: number,
): Promise<number> {
  const server = await EchoServer.start(kind, 1, files);
  // The client on the load generator's core, as the suites pin theirs.
  const argv = ["bun", import.meta.path, "--client", String(server.port), String(connections)];
  const child = Bun.spawn(command(1, argv, files), {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    if ((await readLines(child.stdout).next()).value !== "ready") {
      throw new Error("the client failed");
    }
    const idle = await server.idleBytes();
    child.stdin.write(`${mode}\n`);
    child.stdin.flush();
    await child.exited;
    // The teardown of 10,000 connections takes the servers about 200 ms.
    await Bun.sleep(500);
    return ((await server.peakBytes()) - idle) / connections;
  } finally {
    child.kill(); // a client that failed would wait for its echoes forever
    await server.stop();
  }
}

/** Opens the connections, one round trip on each, then ends them all as stdin says. */
async function client(port: number, connections: number): Promise<void> {
  const sockets: Bun.Socket[] = [];
  let echoed = 0;
  const allEchoed = Promise.withResolvers<void>();
  const handler = {
    data() {
      if (++echoed === connections) allEchoed.resolve();
    },
  };
  while (sockets.length < connections) {
    const batch = Math.min(256, connections - sockets.length);
    const opened = await Promise.all(
      Array.from({ length: batch }, () =>
        Bun.connect({ hostname: "127.0.0.1", port, socket: handler }),
      ),
    );
    for (const socket of opened) socket.write("x");
    sockets.push(...opened);
  }
  await allEchoed.promise;
  console.log("ready");
  for await (const line of console) {
    for (const socket of sockets) {
      if (line === "rst") socket.terminate();
      else socket.end();
    }
    break;
  }
  // Let the resets or FINs go out before the process exits.
  await Bun.sleep(100);
  process.exit(0);
}
