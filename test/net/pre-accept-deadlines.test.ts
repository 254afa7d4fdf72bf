/** PreAcceptDeadlines: one timer expires every item `duration` ms after it was added. */
import { expect, test } from "bun:test";
import { PreAcceptDeadlines } from "../../src/net/pre-accept-deadlines.ts";

test("items expire in the order they were added, each after its own duration", async () => {
  const expired: [string, number][] = [];
  const start = performance.now();
  const deadlines = new PreAcceptDeadlines<string>(100, (item) =>
    expired.push([item, performance.now() - start]),
  );
  deadlines.add("a");
  await Bun.sleep(50);
  deadlines.add("b");
  deadlines.add("c");
  expect(deadlines.delete("c")).toBe(true);
  await Bun.sleep(200);
  expect(expired.map(([item]) => item)).toEqual(["a", "b"]);
  expect(expired[0]?.[1]).toBeGreaterThanOrEqual(95);
  expect(expired[1]?.[1]).toBeGreaterThanOrEqual(145);
  expect(deadlines.size).toBe(0);
  expect(deadlines.delete("a")).toBe(false); // already expired
});

test("drain() hands back the pending items and nothing expires afterwards", async () => {
  const expired: string[] = [];
  const deadlines = new PreAcceptDeadlines<string>(30, (item) => expired.push(item));
  deadlines.add("a");
  deadlines.add("b");
  expect(deadlines.drain()).toEqual(["a", "b"]);
  await Bun.sleep(80);
  expect(expired).toEqual([]);
});

test("an infinite duration tracks items but never expires them", async () => {
  const expired: string[] = [];
  const deadlines = new PreAcceptDeadlines<string>(Infinity, (item) => expired.push(item));
  deadlines.add("a");
  await Bun.sleep(30);
  expect(expired).toEqual([]);
  expect(deadlines.drain()).toEqual(["a"]);
});
