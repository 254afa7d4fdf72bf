/**
 * giambio's debugger demo: the two sleeping children from the tutorial, run with a debugger
 * that prints every hook of the loop.
 *
 *   bun examples/debugger.ts [SECONDS]   # how long the children sleep, default 2
 *
 * A SECONDS that is not a non-negative number is refused before anything runs (status 2).
 */
import {
  BaseDebugger,
  clock,
  KeyboardInterrupt,
  Scheduler,
  sleep,
  type Task,
  withPool,
} from "../src/index.ts";

const argument = process.argv[2] ?? "2";
const seconds = Number(argument);
if (argument.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
  console.error(
    `usage: bun examples/debugger.ts [SECONDS]: SECONDS must be a non-negative number, got '${argument}'`,
  );
  process.exit(2);
}
const fmt = (ms: number) => (ms / 1000).toFixed(2);

class Debugger extends BaseDebugger {
  override onStart() {
    console.log("## Started running");
  }
  override onExit() {
    console.log("## Finished running");
  }
  override onTaskSchedule(task: Task, delay: number) {
    console.log(`>> A task named '${task.name}' was scheduled to run in ${fmt(delay)} seconds`);
  }
  override onTaskSpawn(task: Task) {
    console.log(`>> A task named '${task.name}' was spawned`);
  }
  override onTaskExit(task: Task) {
    console.log(`<< Task '${task.name}' exited`);
  }
  override beforeTaskStep(task: Task) {
    console.log(`-> About to run a step for '${task.name}'`);
  }
  override afterTaskStep(task: Task) {
    console.log(`<- Ran a step for '${task.name}'`);
  }
  override beforeSleep(task: Task, ms: number) {
    console.log(`# About to put '${task.name}' to sleep for ${fmt(ms)} seconds`);
  }
  override afterSleep(task: Task, ms: number) {
    console.log(`# Task '${task.name}' slept for ${fmt(ms)} seconds`);
  }
  override beforeIo(timeout: number) {
    console.log(`!! About to check for I/O for up to ${fmt(timeout)} seconds`);
  }
  override afterIo(timeout: number) {
    console.log(`!! Done I/O check (timeout ${fmt(timeout)} seconds)`);
  }
  override beforeCancel(task: Task) {
    console.log(`// About to cancel '${task.name}'`);
  }
  override afterCancel(task: Task) {
    console.log(`// Cancelled '${task.name}'`);
  }
  override onExceptionRaised(task: Task, error: unknown) {
    console.log(`!! '${task.name}' raised ${error}`);
  }
}

async function child() {
  console.log(`[child] Child spawned!! Sleeping for ${seconds} seconds`);
  await sleep(seconds * 1000);
  console.log("[child] Had a nice nap!");
}

async function child1() {
  console.log(`[child 1] Child spawned!! Sleeping for ${seconds} seconds`);
  await sleep(seconds * 1000);
  console.log("[child 1] Had a nice nap!");
}

async function main() {
  const start = clock();
  await withPool(async (pool) => {
    pool.spawn(child);
    pool.spawn(child1);
    console.log("[main] Children spawned, awaiting completion");
  });
  console.log(`[main] Children execution complete in ${fmt(clock() - start)} seconds`);
}

try {
  await new Scheduler({ debugger: new Debugger() }).run(main);
} catch (error) {
  if (!(error instanceof KeyboardInterrupt)) throw error;
  process.exitCode = 130; // Ctrl+C: stop quietly, with the shell's status for it
}
