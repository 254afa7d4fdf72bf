/**
 * Shutdown under load: SIGINT to a server process while every client is busy talking to it
 * (the serve fixture with 200 clients, 1,000 with GIAMBIO_HEAVY=1; examples/echo.ts with 50),
 * and SIGTERM (a graceful drain) to examples/echo.ts. sigterm.test.ts has the drain's details.
 * Every handler is cancelled (the fixture counts the `finally` blocks that ran and prints the
 * count as it exits), every connection is closed (each client's exchange ends in EOF or a
 * reset, within a deadline: no client hangs), the process exits with its documented status,
 * and nothing (no unhandled rejection, no stray error) is written to stderr.
 */
import { expect, test } from "bun:test";
import {
  BrokenResourceError,
  connect,
  Event,
  IncompleteReadError,
  run,
  type SocketStream,
  withTimeout,
} from "../../src/index.ts";
import { seededRandom } from "../../src/seeded-random.ts";
import { text } from "../net/helpers.ts";
import { readLines } from "../support/read-lines.ts";
import { randomBytes } from "./clients.ts";
import { HEAVY, ServerProcess } from "./server-process.ts";

const CLIENTS = HEAVY ? 1000 : 200;

/**
 * Runs `clients` connections that each call `exchange` in a loop; once every one has
 * completed an exchange, calls `interrupt`. Resolves with how each client's loop ended:
 * "eof" (an IncompleteReadError: the server closed mid-exchange), "reset" (a
 * BrokenResourceError), or the unexpected error's name.
 */
async function busyClients(
  clients: number,
  port: number,
  exchange: (stream: SocketStream, id: number, round: number) => Promise<void>,
  interrupt: () => void,
): Promise<Map<string, number>> {
  const endings = new Map<string, number>();
  await run(async () => {
    const allBusy = new Event();
    let busy = 0;
    await withTimeout(20_000, async (pool) => {
      for (let id = 0; id < clients; id++) {
        pool.spawn(async () => {
          let ending = "none";
          try {
            await using stream = await connect({ hostname: "127.0.0.1", port });
            for (let round = 0; ; round++) {
              await exchange(stream, id, round);
              if (round === 0 && ++busy === clients) allBusy.set();
            }
          } catch (error) {
            ending =
              error instanceof IncompleteReadError
                ? "eof"
                : error instanceof BrokenResourceError
                  ? "reset"
                  : String(error);
          } finally {
            endings.set(ending, (endings.get(ending) ?? 0) + 1);
          }
        });
      }
      await allBusy.wait();
      interrupt();
    });
  });
  return endings;
}

/** The client endings that are fine: every client, none unexpected. */
function expectClosed(endings: Map<string, number>, clients: number): void {
  const unexpected = [...endings.keys()].filter((ending) => ending !== "eof" && ending !== "reset");
  expect(unexpected).toEqual([]);
  expect((endings.get("eof") ?? 0) + (endings.get("reset") ?? 0)).toBe(clients);
}

test(`SIGINT to a serve fixture with ${CLIENTS} busy clients: every handler cancelled and closed, exit 0`, async () => {
  const server = await ServerProcess.start("echo");
  try {
    const idle = await server.stats();
    let interrupted: ReturnType<ServerProcess["interrupt"]> | undefined;
    const endings = await busyClients(
      CLIENTS,
      server.port,
      async (stream, id, round) => {
        const random = seededRandom(id * 1000 + round);
        const payload = randomBytes(random, 1 + Math.floor(random() * 4096));
        await stream.sendAll(payload);
        const echoed = await stream.receiveExactly(payload.length);
        if (Buffer.compare(echoed, payload) !== 0) throw new Error(`client ${id}: bad echo`);
      },
      () => {
        interrupted = server.interrupt();
      },
    );
    expectClosed(endings, CLIENTS);
    const { exitCode, stats, stderr } = await (interrupted as ReturnType<
      ServerProcess["interrupt"]
    >);
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
    expect(stats.started).toBe(CLIENTS);
    expect(stats.cancelled).toBe(CLIENTS);
    expect(stats.finished).toBe(CLIENTS);
    expect(stats.errors).toEqual({});
    expect(stats.liveTasks).toBe(0);
    // Every connection and the listener are closed.
    expect(stats.fds).toBe(idle.fds - 1);
  } finally {
    await server.stop();
  }
}, 60_000);

/**
 * Starts examples/echo.ts, keeps 50 clients busy talking to it, sends it `signal` once every
 * client has had a reply, and checks that every connection closed and that it exited 0,
 * writing nothing but its own INFO lines. Returns its log (its stderr lines).
 */
async function signalBusyEchoExample(signal: "SIGINT" | "SIGTERM"): Promise<string[]> {
  const clients = 50;
  const echo = Bun.spawn(["bun", `${import.meta.dir}/../../examples/echo.ts`], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const log: string[] = [];
    const lines = readLines(echo.stderr);
    let port = 0;
    while (port === 0) {
      const { value: line, done } = await lines.next();
      if (done) throw new Error(`echo.ts exited early:\n${log.join("\n")}`);
      log.push(line);
      port = Number(/Serving asynchronously at 127\.0\.0\.1:(\d+)$/.exec(line)?.[1] ?? 0);
    }
    const rest = (async () => {
      for await (const line of lines) log.push(line);
    })();
    const greeting = "Welcome to the server pal, feel free to send me something!\n-> ";
    const endings = await busyClients(
      clients,
      port,
      async (stream, id, round) => {
        if (round === 0) expect(text(await stream.receiveUntil("-> "))).toBe(greeting);
        await stream.sendAll(`client ${id} round ${round}\n`);
        expect(text(await stream.receiveUntil("-> "))).toBe(
          `Got: client ${id} round ${round}\n-> `,
        );
      },
      () => echo.kill(signal),
    );
    // With SIGTERM each connection was closed between two exchanges (every reply a client got
    // was whole). A client whose next request was already on its way when its idle connection
    // closed sees a reset: those bytes reached a closed socket (as with Go's Server.Shutdown).
    expectClosed(endings, clients);
    expect(await echo.exited).toBe(0);
    await rest;
    expect(await new Response(echo.stdout).text()).toBe("");
    // Nothing but the server's own INFO lines: no error, no unhandled rejection.
    expect(log.filter((line) => !line.startsWith("[INFO] "))).toEqual([]);
    return log;
  } finally {
    echo.kill();
    await echo.exited;
  }
}

test("SIGINT to examples/echo.ts with busy clients: 'Ctrl+C detected, exiting', exit 0", async () => {
  const log = await signalBusyEchoExample("SIGINT");
  expect(log.at(-1)).toMatch(/^\[INFO\] .* Ctrl\+C detected, exiting$/);
}, 30_000);

test("SIGTERM to examples/echo.ts with busy clients: every connection drained, 'Drained after SIGTERM', exit 0", async () => {
  const log = await signalBusyEchoExample("SIGTERM");
  expect(log.at(-1)).toMatch(/^\[INFO\] .* Drained after SIGTERM, exiting$/);
}, 30_000);
