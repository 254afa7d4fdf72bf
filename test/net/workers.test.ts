/**
 * serve({ workers }): worker processes sharing one port. Runs fixtures/workers-server.ts as
 * the primary and checks, by pid, that both workers serve, that a killed worker is
 * restarted or stops the server as the policy says, that SIGTERM/SIGINT stop every worker,
 * and that no worker outlives its primary, even one killed with SIGKILL.
 */
import { afterEach, expect, describe as group, test } from "bun:test";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { run, serve, withPool } from "../../src/index.ts";
import { readLines } from "../support/read-lines.ts";

const FIXTURE = new URL("./fixtures/workers-server.ts", import.meta.url).pathname;
const linux = process.platform === "linux";

/**
 * The process runs. A zombie does not count: an orphaned worker that exited waits for the
 * machine's init to reap it, which here can take a second or more.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Polls (bounded) until none of `pids` exists. */
async function expectGone(pids: number[], within = 8000): Promise<void> {
  const start = performance.now();
  while (pids.some(alive) && performance.now() - start < within) await Bun.sleep(20);
  expect(pids.filter(alive)).toEqual([]);
}

/** Every primary a test started: one that failed or timed out leaves no process behind. */
const started = new Set<Primary>();

afterEach(() => {
  for (const primary of started) {
    const { child } = primary;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    for (const line of primary.lines) {
      const pid = Number(/^worker \d+ pid (\d+)/.exec(line)?.[1]);
      if (pid > 0 && alive(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {} // it exited meanwhile
      }
    }
  }
  started.clear();
});

/** The fixture's primary process, its stdout lines as they come, its whole stderr. */
class Primary {
  readonly child: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  readonly lines: string[] = [];
  stderr = "";
  readonly #waiters: (() => void)[] = [];
  readonly #done: Promise<void>;

  constructor(...args: string[]) {
    const child = Bun.spawn(["bun", FIXTURE, ...args], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.child = child;
    started.add(this);
    const decoder = new TextDecoder();
    const out = (async () => {
      for await (const line of readLines(child.stdout)) {
        this.lines.push(line);
        for (const wake of this.#waiters.splice(0)) wake();
      }
    })();
    const err = (async () => {
      for await (const chunk of child.stderr) {
        this.stderr += decoder.decode(chunk);
        for (const wake of this.#waiters.splice(0)) wake();
      }
    })();
    this.#done = Promise.all([out, err]).then(() => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Waits (at most `ms`) until `pattern` matches `count` distinct stdout lines (or stderr). */
  async waitFor(pattern: RegExp, count = 1, ms = 10_000, where: "stdout" | "stderr" = "stdout") {
    const deadline = performance.now() + ms;
    for (;;) {
      const source = where === "stdout" ? this.lines : this.stderr.split("\n");
      const found = source.map((line) => pattern.exec(line)).filter((m) => m !== null);
      if (found.length >= count) return found as RegExpExecArray[];
      const left = deadline - performance.now();
      if (left <= 0 || this.child.exitCode !== null || this.child.signalCode !== null) {
        if (left > 0) await this.#done; // the last lines of an exited child
        const again = (where === "stdout" ? this.lines : this.stderr.split("\n"))
          .map((line) => pattern.exec(line))
          .filter((m) => m !== null);
        if (again.length >= count) return again as RegExpExecArray[];
        throw new Error(
          `no ${count} lines matching ${pattern} on ${where}; stdout: ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`,
        );
      }
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        Bun.sleep(Math.min(left, 200)),
      ]);
    }
  }

  /** The pids of the workers with these indexes, as last started. */
  async workers(count: number): Promise<{ pids: number[]; port: number }> {
    const found = await this.waitFor(/^worker (\d+) pid (\d+) port (\d+)$/, count);
    const latest = new Map<string, number>();
    for (const m of found) latest.set(m[1] as string, Number(m[2]));
    return { pids: [...latest.values()], port: Number(found[0]?.[3]) };
  }

  async exited(): Promise<number | null> {
    await this.child.exited;
    await this.#done;
    return this.child.exitCode;
  }
}

/** Connects to the port and returns the pid the worker answers with; retries while none listens. */
async function askPid(port: number): Promise<number> {
  const deadline = performance.now() + 5000;
  for (;;) {
    try {
      return await new Promise<number>((resolve, reject) => {
        let got = "";
        Bun.connect({
          hostname: "127.0.0.1",
          port,
          socket: {
            data(_socket, chunk) {
              got += chunk.toString();
            },
            close() {
              if (got.endsWith("\n")) resolve(Number(got.trim()));
              else reject(new Error(`closed after ${JSON.stringify(got)}`));
            },
            error(_socket, error) {
              reject(error);
            },
            connectError(_socket, error) {
              reject(error);
            },
          },
        }).catch(reject);
      });
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await Bun.sleep(20);
    }
  }
}

/**
 * Connects until every pid in `pids` has answered or `ms` have passed: reusePort spreads
 * connections. Bounded by time, not by a count of tries: a worker prints its line before it
 * listens, and on a loaded machine a just-restarted one took longer to bind than the 400
 * quick connections to its sibling that an earlier count allowed.
 */
async function seeEveryPid(port: number, pids: number[], ms = 10_000): Promise<Set<number>> {
  const seen = new Set<number>();
  const deadline = performance.now() + ms;
  while (!pids.every((pid) => seen.has(pid)) && performance.now() < deadline) {
    seen.add(await askPid(port));
  }
  return seen;
}

group.if(linux)("worker processes", () => {
  test("two workers serve one port; SIGTERM to the primary stops both, exit 0, no orphan", async () => {
    const primary = new Primary("2", "restart");
    const [pidLine] = await primary.waitFor(/^primary (\d+)$/);
    const { pids, port } = await primary.workers(2);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(Number(pidLine?.[1]));
    const seen = await seeEveryPid(port, pids);
    expect([...seen].sort()).toEqual([...pids].sort());
    primary.child.kill("SIGTERM");
    expect(await primary.exited()).toBe(0);
    expect(primary.lines.at(-1)).toBe("primary done");
    await expectGone(pids, 1000); // gone before the primary exited: a short bound is enough
  }, 30_000);

  test("SIGTERM drains the workers: a request in flight gets its reply, then all exit 0", async () => {
    const primary = new Primary("1", "restart", "slow");
    const { pids, port } = await primary.workers(1);
    const reply = new Promise<string>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error("no reply")), 10_000);
      const tryConnect = () => {
        let got = "";
        Bun.connect({
          hostname: "127.0.0.1",
          port,
          socket: {
            open(socket) {
              socket.write("request\n");
              // Mid-request: once the handler has read it (a fixed delay lost the race under
              // load, and the drain then closed what still looked like an idle connection).
              primary
                .waitFor(/^worker 1 got a request$/)
                .then(() => primary.child.kill("SIGTERM"), reject);
            },
            data(_socket, chunk) {
              got += chunk.toString();
            },
            close() {
              clearTimeout(deadline);
              resolve(got);
            },
          },
        }).catch(() => setTimeout(tryConnect, 20));
      };
      tryConnect();
    });
    expect(await reply).toBe(`${pids[0]}\n`);
    expect(await primary.exited()).toBe(0);
    expect(primary.lines).toContain("worker 1 done"); // the worker's serve resolved: drained
    await expectGone(pids, 1000);
  }, 30_000);

  test("requestShutdown() in the primary drains every worker; exit 0, no orphan", async () => {
    const primary = new Primary("2", "restart");
    const { pids, port } = await primary.workers(2);
    await seeEveryPid(port, pids); // both serve: neither is still starting
    primary.child.kill("SIGUSR2"); // the fixture calls requestShutdown()
    expect(await primary.exited()).toBe(0);
    expect(primary.lines).toContain("worker 1 done");
    expect(primary.lines).toContain("worker 2 done");
    expect(primary.lines.at(-1)).toBe("primary done");
    await expectGone(pids, 1000);
  }, 30_000);

  test("a killed worker is reported and restarted; the new one serves", async () => {
    const primary = new Primary("2", "restart");
    const { pids, port } = await primary.workers(2);
    const [victim, other] = pids as [number, number];
    process.kill(victim, "SIGKILL");
    await primary.waitFor(
      new RegExp(`worker \\d \\(pid ${victim}\\) was killed by SIGKILL; restarting it in 50 ms`),
      1,
      10_000,
      "stderr",
    );
    const restarted = await primary.workers(3);
    const fresh = restarted.pids.find((pid) => pid !== other) as number;
    expect(fresh).not.toBe(victim);
    expect(alive(victim)).toBe(false);
    const seen = await seeEveryPid(port, [fresh, other]);
    expect(seen.has(fresh)).toBe(true);
    primary.child.kill("SIGTERM");
    expect(await primary.exited()).toBe(0);
    await expectGone([fresh, other]);
  }, 30_000);

  test('workers: "auto" starts one worker per available core; SIGTERM stops them all', async () => {
    const primary = new Primary("auto", "restart");
    const [pidLine] = await primary.waitFor(/^primary (\d+)$/);
    const { pids, port } = await primary.workers(availableParallelism());
    expect(new Set(pids).size).toBe(availableParallelism());
    await askPid(port);
    process.kill(Number(pidLine?.[1]), "SIGTERM");
    expect(await primary.exited()).toBe(0);
    expect(primary.lines.filter((line) => /^worker \d+ pid/.test(line)).length).toBe(
      availableParallelism(),
    );
    await expectGone(pids, 1000);
  }, 30_000);

  test("a worker that exits 0 on its own is reported, not restarted; serve resolves when none is left", async () => {
    const primary = new Primary("2", "restart", "exit-0");
    expect(await primary.exited()).toBe(0);
    expect(primary.lines.filter((line) => /^worker \d+ pid/.test(line)).length).toBe(2);
    expect(primary.lines.at(-1)).toBe("primary done");
    expect(primary.stderr.match(/a worker that ends on its own is not restarted/g)?.length).toBe(2);
  }, 30_000);

  test("a worker that ignores SIGTERM is killed once its gracePeriod and 2 s have passed", async () => {
    const primary = new Primary("1", "restart", "ignore-term");
    const [pidLine] = await primary.waitFor(/^primary (\d+)$/);
    const { pids, port } = await primary.workers(1);
    await askPid(port);
    const start = performance.now();
    process.kill(Number(pidLine?.[1]), "SIGTERM");
    expect(await primary.exited()).toBe(0);
    const waited = performance.now() - start;
    expect(waited).toBeGreaterThanOrEqual(2150); // 200 ms grace + the 2 s margin
    expect(waited).toBeLessThan(8000);
    expect(primary.lines.at(-1)).toBe("primary done");
    await expectGone(pids, 1000);
  }, 30_000);

  test('onCrash "propagate": a killed worker stops the other and fails the serve', async () => {
    const primary = new Primary("2", "propagate");
    const { pids } = await primary.workers(2);
    process.kill(pids[0] as number, "SIGKILL");
    expect(await primary.exited()).toBe(3);
    expect(primary.lines.at(-1)).toMatch(
      /^primary failed ProcessError: worker \d \(pid \d+\) was killed by SIGKILL \(exitCode null, signal SIGKILL\)$/,
    );
    await expectGone(pids, 1000);
  }, 30_000);

  test("a crash loop gives up after maxRestarts and names the count", async () => {
    const primary = new Primary("1", "restart", "crash-at-start");
    expect(await primary.exited()).toBe(3);
    expect(primary.lines.at(-1)).toMatch(
      /^primary failed ProcessError: worker 1 \(pid \d+\) exited with status 3, crash 3 within 60000 ms \(workerPolicy.maxRestarts is 2\)/,
    );
    expect(primary.stderr).toContain("restarting it in 50 ms");
    expect(primary.stderr).toContain("restarting it in 100 ms"); // the backoff doubles
  }, 30_000);

  test("crashes further apart than the window are no crash loop: the backoff starts over", async () => {
    const primary = new Primary("1", "restart", "crash-forgiven");
    const [pidLine] = await primary.waitFor(/^primary (\d+)$/);
    // maxRestarts is 2: a fourth restart is possible only because each crash was forgiven.
    await primary.waitFor(/restarting it in 200 ms$/, 4, 15_000, "stderr");
    expect(primary.stderr).not.toContain("restarting it in 400 ms");
    process.kill(Number(pidLine?.[1]), "SIGTERM");
    expect(await primary.exited()).toBe(0);
    expect(primary.lines.at(-1)).toBe("primary done");
  }, 30_000);

  test("SIGINT to the primary reaches every worker; nothing is left", async () => {
    const primary = new Primary("2", "restart");
    const { pids, port } = await primary.workers(2);
    await askPid(port); // serving
    primary.child.kill("SIGINT");
    expect(await primary.exited()).toBe(3);
    expect(primary.lines.at(-1)).toMatch(/^primary failed KeyboardInterrupt/);
    await expectGone(pids, 1000);
  }, 30_000);

  test("workers of a primary killed with SIGKILL notice and exit", async () => {
    const primary = new Primary("2", "restart");
    const { pids, port } = await primary.workers(2);
    await askPid(port);
    primary.child.kill("SIGKILL");
    await primary.exited();
    await expectGone(pids, 3000); // the poll runs every 250 ms
  }, 30_000);
});

group("bad worker options, refused before anything starts", () => {
  const tcp = { hostname: "127.0.0.1", port: 0 };
  const cases: [string, object, object, RegExp][] = [
    ["workers 0", tcp, { workers: 0 }, /serve\(\{ workers \}\).*must be an integer >= 1/],
    ["workers 1.5", tcp, { workers: 1.5 }, /must be an integer >= 1/],
    ["workers 'many'", tcp, { workers: "many" }, /must be an integer >= 1 or "auto", got "many"/],
    ["a unix socket", { unix: "/tmp/giambio-w.sock" }, { workers: 2 }, /needs a TCP port/],
    ["workerPolicy without workers", tcp, { workerPolicy: {} }, /needs serve\(\{ workers \}\)/],
    [
      "an unknown policy key",
      tcp,
      { workers: 2, workerPolicy: { maxRestart: 1 } },
      /unknown option "maxRestart".*maxRestarts/,
    ],
    [
      "a bad onCrash",
      tcp,
      { workers: 2, workerPolicy: { onCrash: "ignore" } },
      /onCrash \} \}\) must be "restart" or "propagate"/,
    ],
    [
      "workerPolicy null",
      tcp,
      { workers: 2, workerPolicy: null },
      /workerPolicy \}\) must be an object/,
    ],
    ["workers null", tcp, { workers: null }, /must be an integer >= 1/],
    [
      "a negative backoff",
      tcp,
      { workers: 2, workerPolicy: { backoff: -1 } },
      /backoff \} \}\) must be a non-negative/,
    ],
  ];
  test("pool.start(serve, ...) with workers: refused, the primary has no Listener to hand back", async () => {
    const error = await run(() =>
      withPool((pool) => pool.start(serve, tcp, () => {}, { workers: 2 })),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/pool\.start\(serve, \.\.\.\) cannot take \{ workers \}/);
  });

  test("platforms other than Linux: refused before any worker starts (GiambioError)", async () => {
    const fixture = new URL("./fixtures/workers-non-linux.ts", import.meta.url).pathname;
    const child = Bun.spawn(["bun", fixture], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const [stdout, status] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    clearTimeout(timer);
    expect(stdout).toBe(
      "GiambioError: serve({ workers }) needs Linux: only there does reusePort spread connections over processes (this is darwin)\nworker started: false\n",
    );
    expect(status).toBe(0);
  });

  test("valid options under bun test: refused, since a worker would run this test file", async () => {
    const error = await run(() => serve(tcp, () => {}, { workers: 2 })).catch((e: unknown) => e);
    expect(String(error)).toMatch(/runs the program \(.*workers\.test\.ts\) again in each worker/);
  });
  for (const [name, listenOptions, serveOptions, message] of cases) {
    test(name, async () => {
      const error = await run(() => serve(listenOptions, () => {}, serveOptions)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(String(error)).toMatch(message);
    });
  }
});
