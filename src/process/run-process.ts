/**
 * A child process as a cancellable wait (trio's `run_process`): `runProcess` starts the
 * program, waits for it to exit and returns how it ended. The wait is a cancellation point
 * like any other; a cancelled wait terminates the child (SIGTERM, then SIGKILL after a grace)
 * and returns only once the child is gone, so no process outlives the task that ran it.
 */
import type { Subprocess } from "bun";
import { checkDuration, checkOptions } from "../arguments.ts";
import { currentTaskInternal } from "../core/context.ts";
import { shield, skipAfter } from "../core/deadlines.ts";
import { checkCancelled } from "../core/park.ts";
import { until } from "../core/until.ts";
import { describe, GiambioError, nameOnPrototypes } from "../errors.ts";

/** Where a child's output goes: this process's own stream, a buffer returned to you, or nowhere. */
export type OutputMode = "inherit" | "capture" | "ignore";

/** Options of `runProcess`. */
export interface RunProcessOptions {
  /** Reject with `ProcessError` when the child exits with a non-zero status or by a signal. Default true. */
  check?: boolean;
  /** The child's stdin: `"ignore"` (default, an empty stream), `"inherit"`, or the bytes to feed it. */
  stdin?: "inherit" | "ignore" | string | Uint8Array;
  /** The child's stdout: `"inherit"` (default), `"capture"` (returned as bytes) or `"ignore"`. */
  stdout?: OutputMode;
  /** The child's stderr: `"inherit"` (default), `"capture"` or `"ignore"`. */
  stderr?: OutputMode;
  /** The child's whole environment (default: this process's). Merge `process.env` yourself to extend it. */
  env?: Record<string, string | undefined>;
  /** The child's working directory (default: this process's). */
  cwd?: string;
  /** On cancellation, ms between SIGTERM and SIGKILL. Default 5000. */
  killGrace?: number;
}

/** How a child process ended. */
export interface CompletedProcess {
  /** The command as run. */
  readonly args: readonly string[];
  readonly pid: number;
  /** The exit status, or null when a signal killed the child. */
  readonly exitCode: number | null;
  /** The signal that killed the child (`"SIGKILL"`), or null when it exited. */
  readonly signal: string | null;
  /** The child's stdout, with `stdout: "capture"`. */
  readonly stdout: Uint8Array | undefined;
  /** The child's stderr, with `stderr: "capture"`. */
  readonly stderr: Uint8Array | undefined;
}

/**
 * A child process exited with a non-zero status or was killed by a signal (with `check`,
 * the default). Carries everything `CompletedProcess` does, captured output included.
 */
export class ProcessError extends GiambioError implements CompletedProcess {
  readonly args: readonly string[];
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: Uint8Array | undefined;
  readonly stderr: Uint8Array | undefined;

  constructor(completed: CompletedProcess, message = describeExit(completed)) {
    super(message);
    this.args = completed.args;
    this.pid = completed.pid;
    this.exitCode = completed.exitCode;
    this.signal = completed.signal;
    this.stdout = completed.stdout;
    this.stderr = completed.stderr;
  }
}

nameOnPrototypes({ ProcessError });

/** `command ["sh","-c","exit 3"] (pid 12) exited with status 3`, or `... was killed by SIGKILL`. */
export function describeExit(completed: CompletedProcess): string {
  return `command ${JSON.stringify(completed.args)} (pid ${completed.pid}) ${describeEnding(completed)}`;
}

/** `exited with status 3` or `was killed by SIGKILL`. */
export function describeEnding(completed: CompletedProcess): string {
  return completed.signal !== null
    ? `was killed by ${completed.signal}`
    : `exited with status ${completed.exitCode}`;
}

const OPTION_KEYS = ["check", "stdin", "stdout", "stderr", "env", "cwd", "killGrace"] as const;
const OUTPUT_MODES: readonly string[] = ["inherit", "capture", "ignore"];
const DEFAULT_KILL_GRACE = 5000;

/** @internal The validated form of `runProcess`'s arguments. */
export interface ProcessPlan {
  readonly args: readonly string[];
  readonly check: boolean;
  readonly stdin: "inherit" | "ignore" | Uint8Array;
  readonly stdout: OutputMode;
  readonly stderr: OutputMode;
  readonly env: Record<string, string | undefined> | undefined;
  readonly cwd: string | undefined;
  readonly killGrace: number;
  /** Its own process group, so a terminal's Ctrl+C reaches only the parent (workers). */
  readonly detached: boolean;
}

/** @internal What a supervisor (workers) may hook into. */
export interface ProcessHooks {
  /** Called once the child runs, with its handle (to forward signals to it). */
  started?(child: Subprocess): void;
  /** What cancellation sends first; default: SIGTERM. */
  deliverCancel?(child: Subprocess): void;
}

/**
 * Runs `cmd` (`[program, ...args]`) as a child process and waits for it to exit. Resolves
 * with a `CompletedProcess`; with `check` (the default) a non-zero status or a death by
 * signal rejects with `ProcessError`, which carries the status and any captured output.
 *
 * A cancellation point: when the caller is cancelled, the child gets SIGTERM, then SIGKILL
 * if it is still running `killGrace` ms later, and the call rejects with `CancelledError`
 * only once the child has exited. A bad argument or an unknown option is a `TypeError`
 * (nothing is started); a program that cannot be started rejects with Bun's error.
 */
export function runProcess(
  cmd: readonly string[],
  options?: RunProcessOptions,
): Promise<CompletedProcess> {
  try {
    return superviseProcess(parseProcessArguments("runProcess", cmd, options, false));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** @internal Validates `runProcess(cmd, options)`; `fn` names the call in messages. */
export function parseProcessArguments(
  fn: string,
  cmd: unknown,
  options: unknown,
  detached: boolean,
): ProcessPlan {
  if (!Array.isArray(cmd) || cmd.length === 0 || cmd.some((arg) => typeof arg !== "string")) {
    throw new TypeError(
      `${fn}(cmd) must be a non-empty array of strings like ["ls", "-l"], got ${describe(cmd)}`,
    );
  }
  const o: RunProcessOptions =
    options === undefined
      ? {}
      : checkOptions(`${fn}(cmd, options)`, options, OPTION_KEYS, '{ stdout: "capture" }');
  const check = o.check === undefined ? true : o.check;
  if (typeof check !== "boolean") {
    throw new TypeError(`${fn}({ check }) must be true or false, got ${describe(check)}`);
  }
  const stdin = o.stdin === undefined ? "ignore" : o.stdin;
  if (
    stdin !== "inherit" &&
    stdin !== "ignore" &&
    typeof stdin !== "string" &&
    !(stdin instanceof Uint8Array)
  ) {
    throw new TypeError(
      `${fn}({ stdin }) must be "inherit", "ignore", a string or a Uint8Array, got ${describe(stdin)}`,
    );
  }
  const env = o.env;
  if (env !== undefined) {
    if (typeof env !== "object" || env === null || Array.isArray(env)) {
      throw new TypeError(`${fn}({ env }) must be an object of strings, got ${describe(env)}`);
    }
    for (const [key, value] of Object.entries(env)) {
      if (value !== undefined && typeof value !== "string") {
        throw new TypeError(
          `${fn}({ env }) values must be strings, got ${key}: ${describe(value)}`,
        );
      }
    }
  }
  if (o.cwd !== undefined && (typeof o.cwd !== "string" || o.cwd === "")) {
    throw new TypeError(`${fn}({ cwd }) must be a directory path, got ${describe(o.cwd)}`);
  }
  return {
    args: [...(cmd as string[])],
    check,
    stdin:
      stdin === "inherit" || stdin === "ignore" || stdin instanceof Uint8Array
        ? stdin
        : new TextEncoder().encode(stdin),
    stdout: checkOutputMode(`${fn}({ stdout })`, o.stdout),
    stderr: checkOutputMode(`${fn}({ stderr })`, o.stderr),
    env,
    cwd: o.cwd,
    killGrace:
      o.killGrace === undefined
        ? DEFAULT_KILL_GRACE
        : checkDuration(`${fn}({ killGrace })`, o.killGrace),
    detached,
  };
}

function checkOutputMode(what: string, value: unknown): OutputMode {
  if (value === undefined) return "inherit";
  if (typeof value !== "string" || !OUTPUT_MODES.includes(value)) {
    throw new TypeError(`${what} must be "inherit", "capture" or "ignore", got ${describe(value)}`);
  }
  return value as OutputMode;
}

/** @internal Starts the planned child and waits for it; see `runProcess`. */
export async function superviseProcess(
  plan: ProcessPlan,
  hooks?: ProcessHooks,
): Promise<CompletedProcess> {
  const task = currentTaskInternal();
  const refused = checkCancelled(task);
  if (refused !== null) return refused; // cancelled already: start nothing
  const child = Bun.spawn([...plan.args], {
    stdin: plan.stdin === "ignore" ? null : plan.stdin,
    stdout: bunOutput(plan.stdout),
    stderr: bunOutput(plan.stderr),
    // Bun's default is the environment this process started with; Node's (and the
    // expected one) is process.env as it is now.
    env: plan.env ?? { ...process.env },
    ...(plan.cwd === undefined ? {} : { cwd: plan.cwd }),
    detached: plan.detached,
  });
  // Read the pipes from the start: a child whose pipe fills up would block forever.
  const output = Promise.all([
    readOutput(plan.stdout, child.stdout),
    readOutput(plan.stderr, child.stderr),
  ]);
  hooks?.started?.(child);
  try {
    await until(child.exited);
  } catch (error) {
    await shield(() => terminate(child, plan.killGrace, hooks));
    void output.catch(() => {});
    throw error;
  }
  const [stdout, stderr] = await until(output);
  const completed: CompletedProcess = {
    args: plan.args,
    pid: child.pid,
    exitCode: child.signalCode === null ? child.exitCode : null,
    signal: child.signalCode === null ? null : String(child.signalCode),
    stdout,
    stderr,
  };
  if (plan.check && completed.exitCode !== 0) throw new ProcessError(completed);
  return completed;
}

/** Cancellation: SIGTERM (or the hook's signal), SIGKILL after `killGrace`, then wait until it is gone. */
async function terminate(child: Subprocess, killGrace: number, hooks?: ProcessHooks) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (hooks?.deliverCancel) hooks.deliverCancel(child);
  else child.kill("SIGTERM");
  let exited = false;
  await skipAfter(killGrace, async () => {
    await until(child.exited);
    exited = true;
  });
  if (exited) return;
  child.kill("SIGKILL");
  await until(child.exited);
}

function bunOutput(mode: OutputMode): "inherit" | "pipe" | "ignore" {
  return mode === "capture" ? "pipe" : mode;
}

async function readOutput(
  mode: OutputMode,
  pipe: ReadableStream<Uint8Array> | number | undefined | null,
): Promise<Uint8Array | undefined> {
  if (mode !== "capture" || !(pipe instanceof ReadableStream)) return undefined;
  return new Uint8Array(await new Response(pipe).arrayBuffer());
}
