/**
 * giambio's first pool example (its README, "Something actually useful"): two children
 * sleep for 2 seconds each, at the same time, so the pool is done after about 2 seconds.
 *
 *   bun examples/children.ts
 *
 * Each child prints its "spawned" line before `spawn` returns (a child runs until its first
 * suspension), so both come before main's "awaiting completion" line.
 */
import { clock, run, sleep, withPool } from "../src/index.ts";

async function child(): Promise<void> {
  console.log("[child] Child spawned! Sleeping for 2 seconds");
  await sleep(2000);
  console.log("[child] Had a nice nap!");
}

async function child1(): Promise<void> {
  console.log("[child 1] Child spawned! Sleeping for 2 seconds");
  await sleep(2000);
  console.log("[child 1] Had a nice nap!");
}

async function main(): Promise<void> {
  const start = clock();
  await withPool(async (pool) => {
    pool.spawn(child);
    pool.spawn(child1);
    console.log("[main] Children spawned, awaiting completion");
  });
  const seconds = (clock() - start) / 1000;
  console.log(`[main] Children execution complete in ${seconds.toFixed(2)} seconds`);
}

await run(main);
