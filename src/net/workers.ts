/**
 * Every core: `serve(..., { workers })` in the *primary* process starts that many copies of
 * the same program as worker processes; each worker, reaching the same `serve` call, serves
 * the shared port itself (`SO_REUSEPORT`: the kernel spreads connections over them). The
 * primary only supervises: each worker is a task of one pool that runs it with
 * `runProcess`, so cancelling the serve stops every worker and waits for it, and a crash is
 * restarted or propagated by `workerPolicy`.
 *
 * Signals: the primary run's graceful shutdown (SIGTERM, or `requestShutdown()`) sends
 * SIGTERM to every worker, which drains by its own handling; SIGINT is forwarded as SIGINT
 * (the worker cancels); a second SIGTERM cancels the primary, whose cancellation sends
 * SIGTERM again (the worker cancels at once). Workers run in their own process group,
 * so a terminal's Ctrl+C reaches them once, through the primary. A worker whose primary died
 * (even by SIGKILL) notices within `PARENT_POLL_MS` and sends itself SIGTERM.
 */
import { availableParallelism } from "node:os";
import type { Subprocess } from "bun";
import { checkDuration, checkInteger, checkOptions } from "../arguments.ts";
import { currentTaskInternal } from "../core/context.ts";
import { skipAfter } from "../core/deadlines.ts";
import { type Pool, withPool } from "../core/pool.ts";
import { onShutdownRequest } from "../core/shutdown.ts";
import { clock } from "../core/sleep.ts";
import { until } from "../core/until.ts";
import { describe, GiambioError } from "../errors.ts";
import {
  describeEnding,
  ProcessError,
  type ProcessPlan,
  superviseProcess,
} from "../process/run-process.ts";
import { endpointError, type ListenOptions, parseListenOptions } from "./endpoint.ts";
import { DEFAULT_GRACE_PERIOD } from "./serve-loop.ts";

/** What a worker crash does, and how often a crashing worker may be restarted. */
export interface WorkerPolicy {
  /**
   * `"restart"` (default): start the worker again after `backoff`; `"propagate"`: stop every
   * worker and reject the serve with the crash's `ProcessError`.
   */
  onCrash?: "restart" | "propagate";
  /** Restarts of one worker allowed within `window` ms; one more crash propagates. Default 5. */
  maxRestarts?: number;
  /** The crash-loop window, ms. Default 60 000. */
  window?: number;
  /** Delay before the first restart, ms; it doubles with each restart in the window (at most 10 s). Default 100. */
  backoff?: number;
}

/** The `serve` options that run worker processes (see `ServeOptions`). */
export interface WorkerOptions {
  /**
   * Worker processes to run (an integer >= 1), or `"auto"` for one per available core. The
   * primary process only supervises them. Linux only, TCP only (see the README's
   * "Deploying").
   */
  workers?: number | "auto";
  /** What a crashed worker does; see `WorkerPolicy`. */
  workerPolicy?: WorkerPolicy;
}

/** Environment of a worker: its 1-based index, the port to serve, the primary's pid. */
const WORKER_ENV = "GIAMBIO_WORKER";
const PORT_ENV = "GIAMBIO_WORKER_PORT";
const PRIMARY_ENV = "GIAMBIO_PRIMARY_PID";

/** How often a worker checks that its primary still lives. */
const PARENT_POLL_MS = 250;
const MAX_BACKOFF = 10_000;
/** A worker still running this long after its drain should have ended is killed. */
const KILL_MARGIN = 2_000;

/** The files `bun test` runs: a worker would run the test file again. */
const TEST_FILE = /[._](test|spec)\.[cm]?[jt]sx?$/;
const POLICY_KEYS = ["onCrash", "maxRestarts", "window", "backoff"] as const;

interface WorkerIdentity {
  readonly index: number;
  readonly port: number;
  readonly primaryPid: number;
}

/**
 * This process's worker identity, read once. A child of a worker (a program the worker runs)
 * inherits the variables but not the parent: only a child of the primary is a worker, or an
 * orphan whose primary is already gone (it will drain at once).
 */
const identity: WorkerIdentity | null = readIdentity();

function readIdentity(): WorkerIdentity | null {
  const index = Number(process.env[WORKER_ENV]);
  const port = Number(process.env[PORT_ENV]);
  const primaryPid = Number(process.env[PRIMARY_ENV]);
  if (!(index >= 1 && port >= 1 && primaryPid >= 1)) return null;
  if (process.ppid !== primaryPid && isAlive(primaryPid)) return null;
  return { index, port, primaryPid };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * @internal What `serve` does with `workers`: the serve options without the worker ones, and
 * either `supervise` (the primary) or the listen options to serve (a worker: the primary's
 * port, reusePort).
 */
export interface WorkerRole<S> {
  readonly serveOptions: Omit<S, keyof WorkerOptions>;
  readonly supervise: (() => Promise<void>) | null;
  readonly listenOptions: ListenOptions;
}

/** @internal `serve`'s hook; null without `workers`. */
export function takeWorkerOptions<S extends WorkerOptions>(
  listenOptions: ListenOptions,
  serveOptions: S | undefined,
  startedByPool: boolean,
): WorkerRole<S> | null {
  if (serveOptions === undefined || serveOptions === null || typeof serveOptions !== "object") {
    return null;
  }
  if (!("workers" in serveOptions) && !("workerPolicy" in serveOptions)) return null;
  const { workers, workerPolicy, ...rest } = serveOptions;
  if (workers === undefined) {
    if (workerPolicy !== undefined) {
      throw new TypeError("serve({ workerPolicy }) needs serve({ workers }) as well");
    }
    return { serveOptions: rest, supervise: null, listenOptions };
  }
  const count = checkWorkerCount(workers);
  const policy = checkPolicy(workerPolicy);
  if (identity !== null) {
    watchPrimary(identity.primaryPid);
    const given = listenOptions.port;
    const port = given === undefined || given === 0 ? identity.port : given;
    return {
      serveOptions: rest,
      supervise: null,
      listenOptions: { ...listenOptions, port, reusePort: true },
    };
  }
  if (startedByPool) {
    throw new TypeError(
      "pool.start(serve, ...) cannot take { workers }: the primary never listens (each worker does), so there is no Listener to hand back; call serve(...) instead",
    );
  }
  const plan = parseListenOptions(listenOptions);
  if (plan.endpoint.kind === "unix") {
    throw new TypeError(
      `serve({ workers }) needs a TCP port: the kernel cannot spread a unix socket's connections over processes (got unix ${describe(plan.endpoint.path)})`,
    );
  }
  if (TEST_FILE.test(Bun.main)) {
    throw new GiambioError(
      `serve({ workers }) runs the program (${Bun.main}) again in each worker: under bun test that is the test file; start the server as a program of its own (runProcess) instead`,
    );
  }
  if (process.platform !== "linux") {
    throw new GiambioError(
      `serve({ workers }) needs Linux: only there does reusePort spread connections over processes (this is ${process.platform})`,
    );
  }
  const { hostname, port } = plan.endpoint;
  const gracePeriod = (rest as { gracePeriod?: unknown }).gracePeriod;
  const supervisor = new WorkerSupervisor(
    count,
    policy,
    typeof gracePeriod === "number" ? gracePeriod : DEFAULT_GRACE_PERIOD,
  );
  return { serveOptions: rest, supervise: () => supervisor.run(hostname, port), listenOptions };
}

function checkWorkerCount(workers: unknown): number {
  if (workers === "auto") return availableParallelism();
  if (typeof workers === "string") {
    throw new TypeError(
      `serve({ workers }) must be an integer >= 1 or "auto", got ${describe(workers)}`,
    );
  }
  return checkInteger('serve({ workers }) (or "auto")', workers, 1);
}

interface Policy {
  readonly onCrash: "restart" | "propagate";
  readonly maxRestarts: number;
  readonly window: number;
  readonly backoff: number;
}

function checkPolicy(policy: unknown): Policy {
  if (policy === undefined)
    return { onCrash: "restart", maxRestarts: 5, window: 60_000, backoff: 100 };
  checkOptions(
    "serve({ workerPolicy })",
    policy,
    POLICY_KEYS,
    '{ onCrash: "restart", maxRestarts: 5 }',
  );
  const p = policy as WorkerPolicy;
  const onCrash = p.onCrash === undefined ? "restart" : p.onCrash;
  if (onCrash !== "restart" && onCrash !== "propagate") {
    throw new TypeError(
      `serve({ workerPolicy: { onCrash } }) must be "restart" or "propagate", got ${describe(onCrash)}`,
    );
  }
  return {
    onCrash,
    maxRestarts:
      p.maxRestarts === undefined
        ? 5
        : checkInteger("serve({ workerPolicy: { maxRestarts } })", p.maxRestarts, 0),
    window:
      p.window === undefined
        ? 60_000
        : checkDuration("serve({ workerPolicy: { window } })", p.window),
    backoff:
      p.backoff === undefined
        ? 100
        : checkDuration("serve({ workerPolicy: { backoff } })", p.backoff),
  };
}

let watching = false;

/** A worker drains (SIGTERM to itself) once its primary is gone, however the primary died. */
function watchPrimary(primaryPid: number): void {
  if (watching) return;
  watching = true;
  const timer = setInterval(() => {
    if (process.ppid === primaryPid) return;
    clearInterval(timer);
    report(
      `worker ${identity?.index} (pid ${process.pid}): the primary (pid ${primaryPid}) is gone; draining`,
    );
    process.kill(process.pid, "SIGTERM");
  }, PARENT_POLL_MS);
  timer.unref(); // never what keeps a worker alive
}

function report(line: string): void {
  process.stderr.write(`giambio: ${line}\n`);
}

/** The primary's side: runs the workers as tasks of one pool and forwards signals to them. */
class WorkerSupervisor {
  readonly #count: number;
  readonly #policy: Policy;
  readonly #gracePeriod: number;
  /** The workers running now, by index. */
  readonly #live = new Map<number, Subprocess>();
  /** The signal forwarded to every worker to stop them, once one was. */
  #stopSignal: "SIGTERM" | "SIGINT" | null = null;
  #stopRequested!: () => void;
  /** Settles when a stop signal was forwarded: a worker waiting to restart gives up. */
  readonly #stopped = new Promise<void>((resolve) => {
    this.#stopRequested = resolve;
  });
  #killTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(count: number, policy: Policy, gracePeriod: number) {
    this.#count = count;
    this.#policy = policy;
    this.#gracePeriod = gracePeriod;
  }

  async run(hostname: string, port: number): Promise<void> {
    const task = currentTaskInternal();
    const handleSignals = task.scheduler.handleSignals;
    const boundPort = reservePort(hostname, port);
    const onInt = () => this.#forward("SIGINT");
    // The primary exiting some other way (process.exit, a second SIGINT) takes the workers along.
    const onExit = () => {
      for (const child of this.#live.values()) child.kill("SIGKILL");
    };
    if (handleSignals) process.on("SIGINT", onInt);
    // The run's graceful shutdown (SIGTERM, or requestShutdown()) reaches every worker.
    const leaveShutdown = onShutdownRequest(task, () => this.#forward("SIGTERM"));
    process.on("exit", onExit);
    try {
      await withPool((pool: Pool) => {
        for (let index = 1; index <= this.#count; index++) {
          pool.spawnNamed(`worker ${index}`, () => this.#superviseWorker(index, boundPort));
        }
      });
    } finally {
      clearTimeout(this.#killTimer);
      process.off("exit", onExit);
      leaveShutdown();
      if (handleSignals) process.off("SIGINT", onInt);
    }
  }

  /** One worker's task: run it, and restart it after a crash as the policy says. */
  async #superviseWorker(index: number, port: number): Promise<void> {
    const restarts: number[] = [];
    for (;;) {
      const done = await superviseProcess(this.#planFor(index, port), {
        started: (child) => this.#live.set(index, child),
        // After a forwarded SIGINT the worker is already cancelling: a SIGTERM on top would be a second signal.
        deliverCancel: (child) => {
          if (this.#stopSignal !== "SIGINT") child.kill("SIGTERM");
        },
      }).finally(() => this.#live.delete(index));
      if (this.#stopSignal !== null) return; // asked to stop: however it ended is fine
      const what = `worker ${index} (pid ${done.pid})`;
      const how = describeEnding(done);
      if (done.exitCode === 0) {
        report(`${what} ${how}; a worker that ends on its own is not restarted`);
        return;
      }
      if (this.#policy.onCrash === "propagate") {
        report(`${what} ${how}; stopping every worker (workerPolicy.onCrash is "propagate")`);
        throw new ProcessError(done, `${what} ${how}`);
      }
      const now = clock();
      while (restarts.length > 0 && now - (restarts[0] as number) >= this.#policy.window)
        restarts.shift();
      if (restarts.length >= this.#policy.maxRestarts) {
        const message = `${what} ${how}, crash ${restarts.length + 1} within ${this.#policy.window} ms (workerPolicy.maxRestarts is ${this.#policy.maxRestarts}); stopping every worker`;
        report(message);
        throw new ProcessError(done, message);
      }
      restarts.push(now);
      const delay = Math.min(this.#policy.backoff * 2 ** (restarts.length - 1), MAX_BACKOFF);
      report(`${what} ${how}; restarting it in ${delay} ms`);
      await skipAfter(delay, () => until(this.#stopped));
      if (this.#stopSignal !== null) return;
    }
  }

  #planFor(index: number, port: number): ProcessPlan {
    return {
      args: [process.execPath, ...process.execArgv, ...process.argv.slice(1)],
      check: false,
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      env: {
        ...process.env,
        [WORKER_ENV]: String(index),
        [PORT_ENV]: String(port),
        [PRIMARY_ENV]: String(process.pid),
      },
      cwd: undefined,
      // A worker drains within its grace period; one still running after it is stuck.
      killGrace: this.#gracePeriod + KILL_MARGIN,
      detached: true,
    };
  }

  /** SIGTERM or SIGINT to the primary: pass it on to every worker, and restart none. */
  #forward(signal: "SIGTERM" | "SIGINT"): void {
    if (this.#stopSignal === null) {
      this.#stopSignal = signal;
      this.#stopRequested();
      // Safety net: a worker that outlives its own drain by the margin is killed.
      if (Number.isFinite(this.#gracePeriod)) {
        this.#killTimer = setTimeout(() => {
          for (const child of this.#live.values()) child.kill("SIGKILL");
        }, this.#gracePeriod + KILL_MARGIN);
      }
    }
    for (const child of this.#live.values()) child.kill(signal);
  }
}

/**
 * Checks that the port can be bound with reusePort and, for port 0, picks it: bound here
 * once and released at once (a listener the primary kept would get its share of the
 * connections and never accept them). Another program could take the port in between;
 * production uses a fixed port.
 */
function reservePort(hostname: string, port: number): number {
  let probe: { port: number; stop(closeActive?: boolean): void };
  try {
    probe = Bun.listen({
      hostname,
      port,
      socket: { data() {} },
      ...({ reusePort: true } as object),
    });
  } catch (error) {
    throw endpointError("listen on", { kind: "tcp", hostname, port }, error);
  }
  const bound = probe.port;
  probe.stop(true);
  return bound;
}
