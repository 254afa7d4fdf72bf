/**
 * The documents a user reads (README.md, bench/README.md, docs/) stand on their own: they
 * cite no issue numbers and no files outside this repository, and every relative link they
 * make points at a file that is here.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const documents = [
  "README.md",
  "bench/README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** Mentions of the project's working history, which a user of the package does not have. */
const OUTSIDE = [/\bissues? #?\d+/i, /\b(API|STYLE|DESIGN|HELPERS)\.md\b/, /\.\.\/shared\b/];

describe.each(documents)("%s", (document) => {
  const text = readFileSync(join(root, document), "utf8");

  test("cites no issue and no file outside the repository", () => {
    const found = text
      .split("\n")
      .flatMap((line, i) =>
        OUTSIDE.some((pattern) => pattern.test(line)) ? [`line ${i + 1}: ${line.trim()}`] : [],
      );
    expect(found).toEqual([]);
  });

  test("every relative link points at a file in the repository", () => {
    const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((match) => match[1] as string)
      .filter((target) => !/^[a-z]+:/i.test(target));
    const missing = links.filter((target) => !existsSync(join(root, dirname(document), target)));
    expect(missing).toEqual([]);
  });
});

test("the pattern catches what it is for", () => {
  expect(OUTSIDE.some((pattern) => pattern.test("Targets (issue 10):"))).toBe(true);
  expect(OUTSIDE.some((pattern) => pattern.test("see API.md"))).toBe(true);
  expect(OUTSIDE.some((pattern) => pattern.test("the API reference"))).toBe(false);
});

test("every nc shown to a user has -N (plain nc does not exit when the server closes)", () => {
  const files = [...documents, ...readdirSync(join(root, "examples")).map((f) => `examples/${f}`)];
  const plain = files.flatMap((file) =>
    readFileSync(join(root, file), "utf8")
      .split("\n")
      .filter((line) => /\bnc (?!-N)/.test(line))
      .map((line) => `${file}: ${line.trim()}`),
  );
  expect(plain).toEqual([]);
});
