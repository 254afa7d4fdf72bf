/**
 * The debugger hooks: called at the right moments, once where promised, and a broken
 * debugger never breaks the program.
 */
import { describe, expect, spyOn, test } from "bun:test";
import {
  BaseDebugger,
  MockClock,
  Scheduler,
  sleep,
  sleepForever,
  type Task,
  withPool,
} from "../../src/index.ts";

/** Records every hook as "hook:task" (or "hook" for task-less hooks). */
class Recorder extends BaseDebugger {
  readonly events: string[] = [];
  override onStart() {
    this.events.push("start");
  }
  override onExit() {
    this.events.push("exit");
  }
  override onTaskSpawn(task: Task) {
    this.events.push(`spawn:${task.name}`);
  }
  override onTaskSchedule(task: Task, delay: number) {
    this.events.push(`schedule:${task.name}:${delay}`);
  }
  override onTaskExit(task: Task) {
    this.events.push(`taskExit:${task.name}`);
  }
  override beforeTaskStep(task: Task) {
    this.events.push(`before:${task.name}`);
  }
  override afterTaskStep(task: Task) {
    this.events.push(`after:${task.name}`);
  }
  override beforeSleep(task: Task, ms: number) {
    this.events.push(`sleep:${task.name}:${ms}`);
  }
  override afterSleep(task: Task, ms: number) {
    this.events.push(`slept:${task.name}:${ms}`);
  }
  override beforeIo(timeout: number) {
    this.events.push(`io:${timeout}`);
  }
  override afterIo(timeout: number) {
    this.events.push(`ioDone:${timeout}`);
  }
  override beforeCancel(task: Task) {
    this.events.push(`cancel:${task.name}`);
  }
  override afterCancel(task: Task) {
    this.events.push(`cancelled:${task.name}`);
  }
  override onExceptionRaised(task: Task, error: unknown) {
    this.events.push(`raised:${task.name}:${(error as Error).name}`);
  }
}

async function twoChildren() {
  await withPool(async (pool) => {
    pool.spawn(async function child() {
      await sleep(2000);
    });
    pool.spawn(async function child1() {
      await sleep(1000);
    });
  });
}

describe("debugger hooks", () => {
  test("the two-children run produces the exact sequence", async () => {
    const recorder = new Recorder();
    const clock = new MockClock({ autojump: true });
    await new Scheduler({ debugger: recorder, clock }).run(twoChildren);
    expect(recorder.events).toEqual([
      "start",
      "spawn:twoChildren",
      "schedule:twoChildren:0",
      "before:twoChildren",
      // Steps never nest: the parent's step closes around each child's first step.
      "after:twoChildren",
      "spawn:child",
      "before:child",
      "sleep:child:2000",
      "schedule:child:2000",
      "after:child",
      "before:twoChildren",
      "after:twoChildren",
      "spawn:child1",
      "before:child1",
      "sleep:child1:1000",
      "schedule:child1:1000",
      "after:child1",
      "before:twoChildren",
      "after:twoChildren",
      "io:1000",
      "ioDone:1000",
      "slept:child1:1000",
      "schedule:child1:0",
      "before:child1",
      "taskExit:child1",
      "after:child1",
      "io:1000",
      "ioDone:1000",
      "slept:child:2000",
      "schedule:child:0",
      "before:child",
      "taskExit:child",
      "schedule:twoChildren:0",
      "after:child",
      "before:twoChildren",
      "taskExit:twoChildren",
      "after:twoChildren",
      "exit",
    ]);
  });

  test("steps never nest, even when a child's first step spawns a grandchild", async () => {
    const recorder = new Recorder();
    await new Scheduler({ debugger: recorder }).run(async function main() {
      await withPool(async (pool) => {
        pool.spawn(async function child() {
          await withPool(async (inner) => {
            inner.spawn(async function grandchild() {
              await sleep(1);
            });
          });
        });
        await sleep(1);
      });
    });
    const steps = recorder.events.filter((e) => e.startsWith("before:") || e.startsWith("after:"));
    let open: string | null = null;
    for (const event of steps) {
      const [kind, name] = event.split(":") as [string, string];
      if (kind === "before") {
        // Would fail with the old nesting: before:main, before:child, before:grandchild.
        expect(open).toBeNull();
        open = name;
      } else {
        expect(open).toBe(name);
        open = null;
      }
    }
    expect(open).toBeNull();
    expect(steps.slice(0, 8)).toEqual([
      "before:main",
      "after:main",
      "before:child",
      "after:child",
      "before:grandchild",
      "after:grandchild",
      "before:child",
      "after:child",
    ]);
  });

  test("start first, exit last, one spawn and one exit per task, balanced steps", async () => {
    const recorder = new Recorder();
    await new Scheduler({ debugger: recorder }).run(async function main() {
      await withPool(async (pool) => {
        for (let i = 0; i < 5; i++) {
          pool.spawn(async function worker() {
            for (let j = 0; j < 3; j++) await sleep(1);
          });
        }
        const victim = pool.spawn(async function victim() {
          await sleepForever();
        });
        await sleep(2);
        victim.cancel();
      });
    });
    const events = recorder.events;
    expect(events[0]).toBe("start");
    expect(events.at(-1)).toBe("exit");
    const count = (prefix: string) => events.filter((e) => e.startsWith(prefix)).length;
    expect(count("spawn:")).toBe(7);
    expect(count("taskExit:")).toBe(7);
    expect(count("before:")).toBe(count("after:"));
    expect(count("sleep:")).toBe(count("slept:"));
    expect(events).toContain("cancel:victim");
    expect(events).toContain("cancelled:victim");
    expect(events).toContain("raised:victim:CancelledError");
    expect(events.indexOf("cancel:victim")).toBeLessThan(events.indexOf("cancelled:victim"));
    // Steps never interleave: after every "before:X" the next step event is "after:X",
    // except for a child's first step, which runs nested inside spawn().
    const open: string[] = [];
    for (const event of events) {
      if (event.startsWith("before:")) open.push(event.slice(7));
      if (event.startsWith("after:")) expect(open.pop()).toBe(event.slice(6));
    }
    expect(open).toEqual([]);
  });

  test("a hook that throws disables the debugger, is reported once, and the program goes on", async () => {
    const errors = spyOn(console, "error").mockImplementation(() => {});
    try {
      let calls = 0;
      class Broken extends BaseDebugger {
        override beforeTaskStep() {
          calls++;
          throw new Error("broken hook");
        }
      }
      const clock = new MockClock({ autojump: true });
      const result = await new Scheduler({ debugger: new Broken(), clock }).run(async () => {
        await twoChildren();
        return "done";
      });
      expect(result).toBe("done");
      expect(calls).toBe(1);
      expect(errors).toHaveBeenCalledTimes(1);
      expect(String(errors.mock.calls[0]?.[0])).toContain("beforeTaskStep() threw");
    } finally {
      errors.mockRestore();
    }
  });

  test("examples/debugger.ts prints the seed's shape", async () => {
    const example = new URL("../../examples/debugger.ts", import.meta.url).pathname;
    const child = Bun.spawn(["bun", example, "0.05"], { stdout: "pipe" });
    const output = await new Response(child.stdout).text();
    expect(await child.exited).toBe(0);
    const lines = output.trim().split("\n");
    expect(lines[0]).toBe("## Started running");
    expect(lines.at(-1)).toBe("## Finished running");
    const expectInOrder = [
      ">> A task named 'child' was spawned",
      "[child] Child spawned!! Sleeping for 0.05 seconds",
      "# About to put 'child' to sleep for 0.05 seconds",
      ">> A task named 'child1' was spawned",
      "[main] Children spawned, awaiting completion",
      "<- Ran a step for 'main'",
      // How long is left of the 0.05 s when the loop goes idle depends on the machine's load.
      /^!! About to check for I\/O for up to \d+\.\d\d seconds$/,
      "-> About to run a step for 'child'",
      "[child] Had a nice nap!",
      "<< Task 'child' exited",
      "[child 1] Had a nice nap!",
      "<< Task 'main' exited",
    ];
    let at = 0;
    for (const expected of expectInOrder) {
      const matches = (line: string) =>
        typeof expected === "string" ? line === expected : expected.test(line);
      const found = lines.findIndex((line, index) => index >= at && matches(line));
      if (found < 0) throw new Error(`no line ${expected} after line ${at}:\n${output}`);
      at = found;
    }
    // At least the 0.05 s asked for; how much more depends on the machine's load.
    const slept = lines
      .map((line) => /^# Task 'child' slept for (\d+\.\d\d) seconds$/.exec(line)?.[1])
      .find((seconds) => seconds !== undefined);
    expect(Number(slept)).toBeGreaterThanOrEqual(0.05);
  });
});
