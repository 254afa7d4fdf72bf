/**
 * The echo servers the TCP benchmark compares, one per process:
 *
 *   bun bench/tcp/echo-server.ts raw [writes]    # (a) hand-written Bun.listen echo
 *   bun bench/tcp/echo-server.ts serve [writes]  # (b) giambio: serve + receive/sendAll loop
 *
 * `writes` is 1 (default: echo each chunk) or 2 (echo each chunk, then send the prompt
 * "-> ", as the seed's echo server does: two `write` calls by hand, two `sendAll`s in ours).
 *
 * Prints `listening <port>` once bound (127.0.0.1, a free port). Each line read on stdin is
 * answered with `cpu <µs>`: the process's CPU time so far (user + system, every thread, so
 * the garbage collector counts), which the suite reads before and after a load run.
 */
import { listen, run, type SocketStream } from "../../src/index.ts";

const kind = process.argv[2];
const writes = Number(process.argv[3] ?? 1);
/** What the two-write shape sends after each echoed chunk (never the load's byte, 0x61). */
const PROMPT = new TextEncoder().encode("-> ");

/** Reports CPU time for each line on stdin; returns when stdin closes. */
async function answerCpuRequests(): Promise<void> {
  for await (const _line of console) {
    const usage = process.cpuUsage();
    console.log(`cpu ${usage.user + usage.system}`);
  }
}

interface Pending {
  /** Bytes `write` did not take; reading is paused until they are written. */
  unsent: Uint8Array | null;
}

/**
 * (a) The cheapest correct echo by hand: write what arrives; if the socket takes only part,
 * keep the rest, pause reading (no unbounded buffering), and finish it on `drain`.
 */
function rawEcho(): number {
  const server = Bun.listen<Pending>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        socket.data = { unsent: null };
        socket.setNoDelay(true);
      },
      data(socket, chunk) {
        const written = socket.write(chunk);
        if (written < chunk.length) {
          const rest = chunk.subarray(Math.max(written, 0));
          socket.data.unsent = writes === 2 ? concat(rest, PROMPT) : rest;
          socket.pause();
          return;
        }
        if (writes === 2) {
          const prompted = socket.write(PROMPT);
          if (prompted < PROMPT.length) {
            socket.data.unsent = PROMPT.subarray(Math.max(prompted, 0));
            socket.pause();
          }
        }
      },
      drain(socket) {
        const unsent = socket.data.unsent;
        if (unsent === null) return;
        const written = socket.write(unsent);
        if (written < unsent.length) {
          socket.data.unsent = unsent.subarray(Math.max(written, 0));
          return;
        }
        socket.data.unsent = null;
        socket.resume();
      },
    },
  });
  return server.port;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** (b) giambio: `serve` runs this per connection. */
async function echoHandler(stream: SocketStream): Promise<void> {
  for (;;) {
    const chunk = await stream.receive();
    if (chunk.length === 0) return;
    await stream.sendAll(chunk);
    if (writes === 2) await stream.sendAll(PROMPT);
  }
}

if (writes !== 1 && writes !== 2) {
  console.error(`writes must be 1 or 2, got ${process.argv[3]}`);
  process.exit(2);
}
if (kind === "raw") {
  console.log(`listening ${rawEcho()}`);
} else if (kind === "serve") {
  // The loop serves until the process exits; stdin is handled outside it, in plain JS.
  const serving = run(async () => {
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    console.log(`listening ${listener.port}`);
    // The load generator's connections end abruptly (reset); that ends one handler only.
    await listener.serve(echoHandler, { onError: () => {} });
  });
  serving.catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  console.error(`usage: bun bench/tcp/echo-server.ts raw|serve [1|2] (got ${kind})`);
  process.exit(2);
}
await answerCpuRequests();
process.exit(0);
