/**
 * giambio's first pool example (its README, "Something actually useful"): two children
 * sleep for 2 seconds each, at the same time, so the pool is done after about 2 seconds.
 *
 *   bun examples/children.ts
 *
 * Each child prints its "spawned" line before `spawn` returns (a child runs until its first
 * suspension), so both come before main's "awaiting completion" line. README.md quotes this
 * file whole, from the import on (a test keeps the two equal).
 */
import { clock, KeyboardInterrupt, run, sleep, withPool } from "../src/index.ts";

async function child(name: string, ms: number) {
  console.log(`[${name}] Child spawned! Sleeping for ${ms / 1000} seconds`);
  await sleep(ms);
  console.log(`[${name}] Had a nice nap!`);
}

try {
  await run(async () => {
    const start = clock();
    await withPool(async (pool) => {
      pool.spawn(child, "child", 2000);
      pool.spawn(child, "child 1", 2000);
      console.log("[main] Children spawned, awaiting completion");
    });
    const seconds = ((clock() - start) / 1000).toFixed(2);
    console.log(`[main] Children execution complete in ${seconds} seconds`); // ~2.00, not 4
  });
} catch (error) {
  if (!(error instanceof KeyboardInterrupt)) throw error;
  process.exitCode = 130; // Ctrl+C: stop quietly, with the shell's status for it
}
