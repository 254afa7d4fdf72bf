/**
 * giambio's debugger demo: the two sleeping children from the tutorial, run with a debugger
 * that prints every hook of the loop. Run it with `bun examples/debugger.ts` (optionally pass
 * how many seconds the children sleep, default 2).
 */
import { BaseDebugger, clock, Scheduler, sleep, type Task, withPool } from "../src/index.ts";

const seconds = Number(process.argv[2] ?? 2);
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

await new Scheduler({ debugger: new Debugger() }).run(main);
