/**
 * What a user gets: `bun pm pack` ships the source, the docs, the README and the licence and
 * nothing of the tests, benchmarks or CI; and a fresh project that adds the tarball (a local
 * file: no network) can `import { run } from "giambio"` and run a program.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBun } from "./support/run-bun.ts";

const root = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "giambio-package-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bun(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const { stdout, stderr, status } = await runBun(args, { cwd });
  if (status !== 0) throw new Error(`bun ${args.join(" ")} exited ${status}:\n${stdout}${stderr}`);
  return { stdout, stderr };
}

/** The file names in a .tgz: tar headers are 512-byte blocks, the name at 0, size at 124. */
function tarEntries(gzipped: Uint8Array<ArrayBuffer>): string[] {
  const tar = Bun.gunzipSync(gzipped);
  const field = (at: number, length: number) =>
    new TextDecoder().decode(tar.subarray(at, at + length)).replace(/\0.*$/s, "");
  const names: string[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = field(at, 100);
    if (name === "") break;
    const prefix = field(at + 345, 155);
    names.push(prefix === "" ? name : `${prefix}/${name}`);
    const size = Number.parseInt(field(at + 124, 12).trim() || "0", 8);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return names.map((name) => name.replace(/^package\//, ""));
}

let tarball = "";

describe("the packed package", () => {
  test("ships src, docs, README, LICENSE and package.json, nothing of test, bench or .ci", async () => {
    await bun(["pm", "pack", "--destination", dir], root);
    const packed = readdirSync(dir).filter((name) => name.endsWith(".tgz"));
    expect(packed).toEqual(["giambio-0.1.0.tgz"]);
    tarball = join(dir, packed[0] as string);
    const files = tarEntries(new Uint8Array(await Bun.file(tarball).arrayBuffer()));
    for (const needed of [
      "package.json",
      "README.md",
      "LICENSE",
      "src/index.ts",
      "docs/reference.md",
    ]) {
      expect(files).toContain(needed);
    }
    const top = new Set(files.map((file) => file.split("/")[0]));
    expect([...top].sort()).toEqual(["LICENSE", "README.md", "docs", "package.json", "src"]);
    expect(files.filter((file) => /^(test|bench|\.ci|examples)\//.test(file))).toEqual([]);
  }, 20_000);

  test('a fresh project adds the tarball and runs `import { run } from "giambio"`', async () => {
    expect(tarball).not.toBe(""); // set by the test above
    const app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", type: "module" }));
    writeFileSync(
      join(app, "main.ts"),
      [
        'import { run, sleep, withPool } from "giambio";',
        "const order: string[] = [];",
        "await run(() => withPool(async (pool) => {",
        '  pool.spawn(async () => { await sleep(20); order.push("slow"); });',
        '  pool.spawn(async () => { await sleep(5); order.push("fast"); });',
        "}));",
        'console.log(order.join(","));',
      ].join("\n"),
    );
    await bun(["add", tarball], app);
    const pkg = await Bun.file(join(app, "node_modules/giambio/package.json")).json();
    expect(pkg.engines).toEqual({ bun: ">=1.4" });
    expect((await bun(["main.ts"], app)).stdout).toBe("fast,slow\n");
  }, 20_000);
});
