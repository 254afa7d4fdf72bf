/**
 * Preloaded by bunfig.toml for every test file: any unhandled promise rejection or uncaught
 * exception anywhere in the process fails the test during which it surfaced. giambio
 * promises that no error is ever lost; this makes the whole suite hold it to that.
 */
import { afterEach } from "bun:test";

const stray: unknown[] = [];
process.on("unhandledRejection", (error) => stray.push(error));
process.on("uncaughtException", (error) => stray.push(error));

afterEach(async () => {
  // Let rejections of the test's last microtasks surface before judging.
  await new Promise((resolve) => setImmediate(resolve));
  if (stray.length === 0) return;
  const errors = stray.splice(0);
  throw new AggregateError(
    errors,
    `unhandled rejection or uncaught exception during this test: ${errors.map(String).join("; ")}`,
  );
});
