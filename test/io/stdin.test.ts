/**
 * stdinLines(): lines of standard input, cancellable, never keeping Bun alive once nobody
 * reads. The subprocess tests hold the child's stdin open, so a child that still had a read
 * pending would never exit and the test would fail on its timeout.
 */
import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import {
  CancelledError,
  GiambioError,
  ResourceBusyError,
  run,
  skipAfter,
  sleep,
  stdinLines,
  withPool,
} from "../../src/index.ts";
import { linesOf } from "../../src/io/stdin.ts";
import { readLines } from "../support/read-lines.ts";

const FIXTURE = `${import.meta.dir}/../fixtures/stdin-lines.ts`;

/** Starts the fixture in `mode` with a stdin pipe that stays open until `close()`. */
function start(mode: string) {
  const child = Bun.spawn(["bun", FIXTURE, mode], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines = readLines(child.stdout);
  return {
    child,
    async next(): Promise<string | undefined> {
      return (await lines.next()).value;
    },
    write(text: string) {
      child.stdin.write(text);
      child.stdin.flush();
    },
    /** The exit status, or "still running" after `ms` (stdin stays open meanwhile). */
    async exit(ms = 5000): Promise<number | string> {
      const status = await Promise.race([child.exited, Bun.sleep(ms).then(() => "still running")]);
      child.kill();
      return status;
    },
  };
}

describe("stdinLines in a process whose stdin stays open", () => {
  test("yields each line without its ending; a last unterminated line; ends at EOF", async () => {
    const program = start("all");
    program.write("one\ntwo\r\nthr");
    expect(await program.next()).toBe("line: one");
    expect(await program.next()).toBe("line: two");
    program.write("ee");
    program.child.stdin.end();
    expect([await program.next(), await program.next(), await program.next()]).toEqual([
      "line: three",
      "end",
      "done",
    ]);
    expect(await program.exit()).toBe(0);
  });

  test("a program that stops reading (break) exits while stdin stays open", async () => {
    const program = start("first");
    program.write("hello\n");
    expect(await program.next()).toBe("line: hello");
    expect(await program.next()).toBe("done");
    expect(await program.exit()).toBe(0);
    expect(await new Response(program.child.stderr).text()).toBe("");
  });

  test("a program whose read is cancelled exits while stdin stays open", async () => {
    const program = start("cancel");
    expect(await program.next()).toBe("waiting");
    expect(await program.next()).toBe("cancelled");
    expect(await program.next()).toBe("done");
    expect(await program.exit()).toBe(0);
  });

  test("input typed while nobody reads waits for the next reader, also a new iterator", async () => {
    const program = start("pause");
    program.write("first\n");
    expect(await program.next()).toBe("line: first");
    program.write("second\n"); // arrives while the program sleeps and stdin is paused
    expect(await program.next()).toBe("line: second");
    expect(await program.next()).toBe("done");
    expect(await program.exit()).toBe(0);
  });
});

describe("stdinLines in the loop", () => {
  test("a cancelled wait loses no line: the next read gets it", async () => {
    const input = new PassThrough();
    const lines = await run(async () => {
      const cut = await skipAfter(50, () => linesOf(input).next());
      input.write("a\nb");
      input.end("\n");
      const got: string[] = [];
      for await (const line of linesOf(input)) got.push(line);
      return { cut, got };
    });
    expect(lines).toEqual({ cut: undefined, got: ["a", "b"] });
  });

  test("a wait in a cancelled scope raises CancelledError and consumes nothing", async () => {
    const input = new PassThrough();
    input.write("kept\n");
    await run(async () => {
      await withPool(async (pool) => {
        pool.cancel();
        const error = await linesOf(input)
          .next()
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CancelledError);
      });
      expect(await linesOf(input).next()).toEqual({ done: false, value: "kept" });
    });
  });

  test("two tasks waiting at once: the second gets ResourceBusyError naming the first", async () => {
    const input = new PassThrough();
    await run(async () => {
      await withPool(async (pool) => {
        pool.spawnNamed("reader", () => linesOf(input).next());
        const error = await linesOf(input)
          .next()
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ResourceBusyError);
        expect((error as Error).message).toContain("'reader'");
        input.end("x\n");
      });
    });
  });

  test("an input error rejects the waiting read with that error", async () => {
    const input = new PassThrough();
    const failure = new Error("EIO");
    const error = await run(async () => {
      await withPool(async (pool) => {
        pool.spawn(async () => {
          await sleep(10);
          input.destroy(failure);
        });
        return linesOf(input)
          .next()
          .catch((e: unknown) => e);
      });
      return linesOf(input)
        .next()
        .catch((e: unknown) => e);
    });
    expect(error).toBe(failure);
  });

  test("return() ends one iterator; the lines stay for the next one", async () => {
    const input = new PassThrough();
    input.write("a\nb\n");
    await run(async () => {
      const first = linesOf(input);
      expect(await first.next()).toEqual({ done: false, value: "a" });
      await first.return?.();
      expect(await first.next()).toEqual({ done: true, value: undefined });
      expect(await linesOf(input).next()).toEqual({ done: false, value: "b" });
    });
  });

  test("a task waiting on stdin is not a deadlock: it waits on the outside world", async () => {
    const input = new PassThrough();
    const line = await run(async () => {
      setTimeout(() => input.write("late\n"), 50);
      return (await linesOf(input).next()).value;
    });
    expect(line).toBe("late");
  });

  test("outside a task the read rejects (it does not throw) with GiambioError", async () => {
    const read = stdinLines().next();
    expect(read).toBeInstanceOf(Promise);
    expect(await read.catch((e: unknown) => e)).toBeInstanceOf(GiambioError);
  });
});
