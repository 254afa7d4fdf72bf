/**
 * runProcess: a child process as a cancellable wait. Exit statuses and signals, output
 * capture, bad arguments, and cancellation that never leaves a child behind (checked by pid).
 */
import { expect, describe as group, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CancelledError,
  clock,
  ProcessError,
  run,
  runProcess,
  sleep,
  withPool,
  withTimeout,
} from "../../src/index.ts";

const { PATH } = process.env;
const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/** True while a process with this pid exists (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (polling, bounded) until `path` exists and returns its content. */
async function waitForFile(path: string): Promise<string> {
  const start = clock();
  while (!existsSync(path) || readFileSync(path, "utf8") === "") {
    if (clock() - start > 10_000) throw new Error(`${path} never appeared`);
    await sleep(10);
  }
  return readFileSync(path, "utf8");
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "giambio-process-"));
}

group("exit statuses", () => {
  test("exit 0 resolves with the status and no output unless captured", async () => {
    const done = await run(() => runProcess(["sh", "-c", "exit 0"], { stdout: "ignore" }));
    expect(done.exitCode).toBe(0);
    expect(done.signal).toBeNull();
    expect(done.stdout).toBeUndefined();
    expect(done.args).toEqual(["sh", "-c", "exit 0"]);
    expect(alive(done.pid)).toBe(false);
  });

  test("exit 3 rejects with ProcessError carrying the status and the captured output", async () => {
    const error = await run(() =>
      runProcess(["sh", "-c", "echo out; echo err >&2; exit 3"], {
        stdout: "capture",
        stderr: "capture",
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessError);
    const failure = error as ProcessError;
    expect(failure.exitCode).toBe(3);
    expect(failure.signal).toBeNull();
    expect(text(failure.stdout)).toBe("out\n");
    expect(text(failure.stderr)).toBe("err\n");
    expect(failure.message).toContain("exited with status 3");
    expect(failure.message).toContain('"echo out; echo err >&2; exit 3"');
  });

  test("check: false resolves with a non-zero status instead", async () => {
    const done = await run(() => runProcess(["sh", "-c", "exit 7"], { check: false }));
    expect(done.exitCode).toBe(7);
  });

  test("death by a signal rejects with ProcessError naming the signal", async () => {
    const error = await run(() => runProcess(["sh", "-c", "kill -KILL $$"])).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProcessError);
    expect((error as ProcessError).signal).toBe("SIGKILL");
    expect((error as ProcessError).exitCode).toBeNull();
    expect((error as ProcessError).message).toContain("was killed by SIGKILL");
  });

  test("a program that does not exist rejects, and starts nothing", async () => {
    await expect(run(() => runProcess(["giambio-no-such-program-x"]))).rejects.toThrow(
      /giambio-no-such-program-x/,
    );
  });
});

group("input, output and environment", () => {
  test("stdin bytes, env and cwd reach the child; capture returns the bytes", async () => {
    const dir = tempDir();
    try {
      const done = await run(() =>
        runProcess(["sh", "-c", 'cat; echo "$GREETING"; pwd'], {
          stdin: "hello ",
          stdout: "capture",
          env: { GREETING: "ciao", PATH },
          cwd: dir,
        }),
      );
      expect(text(done.stdout)).toBe(`hello ciao\n${dir}\n`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("a large output is read while the child runs (no pipe-full deadlock)", async () => {
    // 1 MiB is far above a pipe's 64 KiB: a child would block forever if nobody read.
    const done = await run(() =>
      runProcess(["sh", "-c", "head -c 1048576 /dev/zero"], { stdout: "capture" }),
    );
    expect(done.stdout?.length).toBe(1048576);
  });

  test("stderr ignore and stdout capture are independent", async () => {
    const done = await run(() =>
      runProcess(["sh", "-c", "echo a; echo b >&2"], { stdout: "capture", stderr: "ignore" }),
    );
    expect(text(done.stdout)).toBe("a\n");
    expect(done.stderr).toBeUndefined();
  });
});

group("bad arguments", () => {
  const cases: [string, unknown, unknown, RegExp][] = [
    ["not an array", "ls", undefined, /runProcess\(cmd\) must be a non-empty array/],
    ["empty array", [], undefined, /non-empty array of strings/],
    ["a non-string argument", ["ls", 3], undefined, /non-empty array of strings/],
    ["options not an object", ["true"], 5, /runProcess\(cmd, options\) must be an object/],
    ["an unknown key", ["true"], { stdot: "capture" }, /unknown option "stdot".*stdout/],
    ["a bad output mode", ["true"], { stdout: "pipe" }, /stdout \}\) must be "inherit"/],
    ["a bad stdin", ["true"], { stdin: 3 }, /stdin \}\) must be/],
    ["a bad check", ["true"], { check: "yes" }, /check \}\) must be true or false/],
    ["a negative killGrace", ["true"], { killGrace: -1 }, /killGrace \}\) must be a non-negative/],
    ["an env value not a string", ["true"], { env: { A: 1 } }, /env \}\) values must be strings/],
    [
      "null is no default (check)",
      ["true"],
      { check: null },
      /check \}\) must be true or false, got null/,
    ],
    ["null is no default (stdin)", ["true"], { stdin: null }, /stdin \}\) must be .*got null/],
    ["options null", ["true"], null, /runProcess\(cmd, options\) must be an object/],
  ];
  for (const [name, cmd, options, message] of cases) {
    test(`${name}: rejected before anything starts`, async () => {
      await run(async () => {
        const promise = runProcess(cmd as string[], options as object);
        expect(promise).toBeInstanceOf(Promise); // never throws synchronously
        const error = await promise.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(name === "a negative killGrace" ? RangeError : TypeError);
        expect(String(error)).toMatch(message);
      });
    });
  }
});

group("cancellation", () => {
  test("a cancelled wait sends SIGTERM and returns only once the child is gone", async () => {
    const dir = tempDir();
    try {
      const pidFile = join(dir, "pid");
      await run(async () => {
        let pid = 0;
        await withPool(async (pool) => {
          pool.spawn(() => runProcess(["sh", "-c", `echo $$ > ${pidFile}; exec sleep 30`]));
          pid = Number(await waitForFile(pidFile));
          expect(alive(pid)).toBe(true);
          pool.cancel();
        });
        // Checked the moment the pool is left: the wait unwound after the child exited.
        expect(alive(pid)).toBe(false);
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("a child that ignores SIGTERM gets SIGKILL after killGrace; no orphan", async () => {
    const dir = tempDir();
    try {
      const pidFile = join(dir, "pid");
      const termFile = join(dir, "term");
      const script = `trap 'echo term > ${termFile}' TERM; echo $$ > ${pidFile}; while :; do sleep 0.05; done`;
      const { pid, elapsed, error } = await run(async () => {
        let pid = 0;
        let start = 0;
        const error = await withTimeout(5000, async () => {
          await withPool(async (pool) => {
            pool.spawn(() => runProcess(["sh", "-c", script], { killGrace: 300 }));
            pid = Number(await waitForFile(pidFile));
            start = clock();
            throw new Error("stop"); // fails the pool: the runProcess task is cancelled
          });
        }).catch((e: unknown) => e);
        return { pid, elapsed: clock() - start, error };
      });
      expect((error as Error).message).toBe("stop");
      expect(readFileSync(termFile, "utf8")).toBe("term\n"); // SIGTERM came first
      expect(elapsed).toBeGreaterThanOrEqual(290); // then the grace
      expect(alive(pid)).toBe(false); // and SIGKILL: nothing is left
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("cancelled by a deadline: CancelledError inside, TooSlowError outside, child gone", async () => {
    const dir = tempDir();
    try {
      const pidFile = join(dir, "pid");
      const seen: unknown[] = [];
      const outcome = await run(() =>
        withTimeout(300, async () => {
          try {
            await runProcess(["sh", "-c", `echo $$ > ${pidFile}; exec sleep 30`]);
          } catch (error) {
            seen.push(error);
            throw error;
          }
        }).catch((e: unknown) => e),
      );
      expect(seen[0]).toBeInstanceOf(CancelledError);
      expect((outcome as Error).name).toBe("TooSlowError");
      expect(alive(Number(readFileSync(pidFile, "utf8")))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("in an already cancelled scope nothing is started", async () => {
    const dir = tempDir();
    try {
      const marker = join(dir, "started");
      await run(() =>
        withPool(async (pool) => {
          pool.cancel();
          const error = await runProcess(["sh", "-c", `: > ${marker}`]).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(CancelledError);
        }),
      );
      await Bun.sleep(100);
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("a run whose only task waits for a child is not a deadlock", async () => {
    const done = await run(() => runProcess(["sleep", "0.2"]));
    expect(done.exitCode).toBe(0);
  });
});
