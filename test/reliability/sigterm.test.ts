/**
 * SIGTERM to a server process (fixtures/drain-server.ts): a graceful drain. A request in
 * flight finishes and its reply arrives, idle connections close at once, new connections are
 * refused, the serve resolves, main goes on and the process exits 0 well within the grace
 * period; at the end of the grace period a handler that never finishes is cancelled (its
 * `finally` runs); a second SIGTERM, or a SIGINT, during the drain ends it at once; SIGTERM
 * with nothing to drain cancels the run.
 */
import { expect, test } from "bun:test";
import { connect, run, type SocketStream, withTimeout } from "../../src/index.ts";
import { readAll, text } from "../net/helpers.ts";

const FIXTURE = `${import.meta.dir}/fixtures/drain-server.ts`;

/** The fixture as a child process: its stdout lines as they come. */
class DrainServer {
  readonly process: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>;
  readonly lines: string[] = [];
  port = 0;
  #waiters: (() => void)[] = [];
  readonly #stderr: Promise<string>;

  constructor(...args: string[]) {
    this.process = Bun.spawn(["bun", FIXTURE, ...args], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.#stderr = new Response(this.process.stderr).text();
    void this.#collect();
  }

  static async start(...args: string[]): Promise<DrainServer> {
    const server = new DrainServer(...args);
    const line = await server.line(/^listening \d+$/);
    server.port = Number(line.split(" ")[1]);
    return server;
  }

  /** Waits for a stdout line matching `pattern` (fails if the process ends without one). */
  async line(pattern: RegExp): Promise<string> {
    for (;;) {
      const found = this.lines.find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (this.#done) {
        throw new Error(`no line matching ${pattern}; stdout:\n${this.lines.join("\n")}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The exit status, with stderr (which must stay empty). */
  async exited(): Promise<{ code: number; stderr: string }> {
    const code = await this.process.exited;
    return { code, stderr: await this.#stderr };
  }

  #done = false;
  async #collect(): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of this.process.stdout) {
      partial += decoder.decode(chunk, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop() as string;
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    }
    this.#done = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

const local = (port: number) => ({ hostname: "127.0.0.1", port });

async function refused(port: number): Promise<string | undefined> {
  return connect(local(port)).then(
    async (stream) => {
      await stream.close();
      return undefined;
    },
    (error: { code?: string }) => error.code,
  );
}

/**
 * Connects a client whose request never finishes ("hang"), sends the server SIGTERM once the
 * handler works on it, and waits for the drain to start. Returns that client's stream.
 */
async function drainWithStuckHandler(server: DrainServer): Promise<SocketStream> {
  const stuck = await connect(local(server.port));
  try {
    await stuck.sendAll("hang\n");
    await server.line(/^working$/);
    server.process.kill("SIGTERM");
    await server.line(/^draining$/);
    return stuck;
  } catch (error) {
    await stuck.close();
    throw error;
  }
}

/** Receives until EOF; "reset" if the connection was reset instead. */
async function untilEnd(stream: SocketStream): Promise<string> {
  try {
    return text(await readAll(stream));
  } catch (error) {
    return error instanceof Error ? error.name : String(error);
  }
}

test("SIGTERM drains: the request in flight is answered, idle connections close at once, new ones are refused, exit 0 well within the grace", async () => {
  const server = await DrainServer.start("10000");
  try {
    const started = performance.now();
    await run(() =>
      withTimeout(15_000, async () => {
        await using idle = await connect(local(server.port));
        await using busy = await connect(local(server.port));
        await busy.sendAll("slow 3000\n");
        await server.line(/^working$/);
        const signalled = performance.now();
        server.process.kill("SIGTERM");
        // The idle connection closes at once, while the slow request is still being worked on
        // (it needs 3 s more).
        expect(await untilEnd(idle)).toBe("");
        expect(performance.now() - signalled).toBeLessThan(2500);
        expect(server.lines).not.toContain("serve resolved");
        expect(await refused(server.port)).toBe("ECONNREFUSED");
        // The request in flight gets its reply; then its connection is closed too.
        expect(await untilEnd(busy)).toBe("re: slow 3000\n");
      }),
    );
    const { code, stderr } = await server.exited();
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(server.lines.slice(-3)).toEqual(["draining", "serve resolved", "main continues"]);
    expect(performance.now() - started).toBeLessThan(8_000); // the grace period is 10 s
  } finally {
    server.process.kill("SIGKILL");
  }
}, 20_000);

test("SIGTERM: at the end of the grace period a handler that never finishes is cancelled, its finally runs, exit 0", async () => {
  const server = await DrainServer.start("500");
  try {
    await run(() =>
      withTimeout(15_000, async () => {
        await using stuck = await drainWithStuckHandler(server);
        const drainStarted = performance.now();
        expect(await untilEnd(stuck)).toBe("");
        // Not before the grace period ended (a lower bound only; a loaded machine is slower).
        expect(performance.now() - drainStarted).toBeGreaterThanOrEqual(450);
      }),
    );
    const { code, stderr } = await server.exited();
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(server.lines.slice(-4)).toEqual([
      "draining",
      "finally hang",
      "serve resolved",
      "main continues",
    ]);
  } finally {
    server.process.kill("SIGKILL");
  }
}, 20_000);

for (const [second, code, last] of [
  ["SIGTERM", 143, "terminated"],
  ["SIGINT", 130, "interrupted"],
] as const) {
  test(`a ${second} during the drain cancels at once: the handler's finally runs, exit ${code}`, async () => {
    const server = await DrainServer.start("60000");
    try {
      const started = performance.now();
      await run(() =>
        withTimeout(15_000, async () => {
          await using stuck = await drainWithStuckHandler(server);
          server.process.kill(second);
          expect(await untilEnd(stuck)).toBe("");
        }),
      );
      const exited = await server.exited();
      expect(exited.stderr).toBe("");
      expect(exited.code).toBe(code);
      expect(server.lines).toContain("finally hang");
      expect(server.lines).not.toContain("serve resolved");
      expect(server.lines.at(-1)).toBe(last);
      expect(performance.now() - started).toBeLessThan(15_000); // far from the 60 s grace
    } finally {
      server.process.kill("SIGKILL");
    }
  }, 20_000);
}

test("SIGTERM with nothing to drain (no serve, nobody waiting) cancels the run: Terminated, exit 143", async () => {
  const server = await DrainServer.start("0", "idle");
  try {
    server.process.kill("SIGTERM");
    const { code, stderr } = await server.exited();
    expect(stderr).toBe("");
    expect(code).toBe(143);
    expect(server.lines.at(-1)).toBe("terminated");
  } finally {
    server.process.kill("SIGKILL");
  }
}, 20_000);
