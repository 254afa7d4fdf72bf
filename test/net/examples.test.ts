/**
 * Every example in examples/ runs as its own process, as a user would start it, and is
 * driven over real sockets.
 */
import { describe, expect, test } from "bun:test";
import { connect, listen, run, type SocketStream, sleep, withPool } from "../../src/index.ts";
import { readAll, text } from "./helpers.ts";

const EXAMPLES = `${import.meta.dir}/../../examples`;

/** A running example: its output lines as they come, and a way to wait for one. */
class Example {
  readonly process: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>;
  readonly lines: string[] = [];
  #waiters: (() => void)[] = [];

  /** Everything the example wrote to stderr, once it has closed it. */
  readonly stderr: Promise<string>;

  constructor(name: string, env: Record<string, string>, args: string[] = []) {
    this.process = Bun.spawn(["bun", `${EXAMPLES}/${name}`, ...args], {
      env: { ...process.env, ...env },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.#collect(this.process.stdout);
    const [forLines, forText] = this.process.stderr.tee();
    this.#collect(forLines);
    this.stderr = new Response(forText).text();
  }

  /** The first output line (stdout or stderr) matching `pattern`, waiting for it. */
  async line(pattern: RegExp): Promise<string> {
    for (;;) {
      const found = this.lines.find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (this.process.exitCode !== null && this.#closed === 2) {
        throw new Error(`no line matching ${pattern}; output:\n${this.lines.join("\n")}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The port captured by the first group of `pattern` in the first line matching it. */
  async port(pattern: RegExp): Promise<number> {
    const line = await this.line(pattern);
    return Number(pattern.exec(line)?.[1]);
  }

  #closed = 0;
  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      partial += decoder.decode(chunk, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop() as string;
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    }
    if (partial !== "") this.lines.push(partial);
    this.#closed++;
    await this.process.exited;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

const local = (port: number) => ({ hostname: "127.0.0.1", port });

async function expectText(stream: SocketStream, expected: string): Promise<void> {
  expect(text(await stream.receiveExactly(new TextEncoder().encode(expected).length))).toBe(
    expected,
  );
}

describe("examples", () => {
  test("echo.ts: greeting, prompt, echo, logs; exit kills the server with a non-zero status", async () => {
    const server = new Example("echo.ts", { HOST: "127.0.0.1", PORT: "0" });
    try {
      const port = await server.port(
        /^\[INFO\] \d\d\/\d\d\/\d{4} [AP]M Serving asynchronously at 127\.0\.0\.1:(\d+)$/,
      );
      await run(async () => {
        await using bystander = await connect(local(port));
        await expectText(
          bystander,
          "Welcome to the server pal, feel free to send me something!\n-> ",
        );
        await using client = await connect(local(port));
        await expectText(client, "Welcome to the server pal, feel free to send me something!\n-> ");
        await client.sendAll("async server test\n");
        await expectText(client, "Got: async server test\n-> ");
        const address = `127.0.0.1:${client.localPort}`;
        await server.line(
          new RegExp(`\\[INFO\\] .* Got: b'async server test\\\\n' from ${address}$`),
        );
        await server.line(
          new RegExp(`\\[INFO\\] .* Echoed back b'async server test\\\\n' to ${address}$`),
        );
        await client.sendAll("exit\n");
        expect(text(await readAll(client))).toBe("Shutting down the server\n");
        // The error took the whole server down: the other connection was closed too.
        expect((await bystander.receive()).length).toBe(0);
      });
      expect(await server.process.exited).not.toBe(0);
      await server.line(/^\[ERROR\] \d\d\/\d\d\/\d{4} [AP]M Exiting due to a Error: $/);
    } finally {
      server.process.kill();
    }
  }, 15000);

  test("echo.ts: a client leaving is logged; Ctrl+C exits cleanly", async () => {
    const server = new Example("echo.ts", { HOST: "127.0.0.1", PORT: "0" });
    try {
      const port = await server.port(/Serving asynchronously at 127\.0\.0\.1:(\d+)$/);
      await run(async () => {
        const client = await connect(local(port));
        await expectText(client, "Welcome to the server pal, feel free to send me something!\n-> ");
        await client.close();
        await server.line(
          new RegExp(`\\[INFO\\] .* Connection from 127\\.0\\.0\\.1:${client.localPort} closed$`),
        );
      });
      server.process.kill("SIGINT");
      expect(await server.process.exited).toBe(0);
      await server.line(/^\[INFO\] .* Ctrl\+C detected, exiting$/);
    } finally {
      server.process.kill();
    }
  }, 15000);

  test("chatroom: names, taken names refused, join/leave notices, relayed messages; leaving breaks nothing", async () => {
    const server = new Example("chatroom-server.ts", { HOST: "127.0.0.1", PORT: "0" });
    try {
      const port = await server.port(/Serving asynchronously at 127\.0\.0\.1:(\d+)$/);
      await run(async () => {
        const welcome = "Welcome to the chatroom pal, may you tell me your name?\n> ";
        const alice = await connect(local(port));
        await expectText(alice, welcome);
        await alice.sendAll("alice\n");
        await expectText(alice, "Okay alice, welcome to the chatroom!\n> ");

        const bob = await connect(local(port));
        await expectText(bob, welcome);
        await bob.sendAll("alice\n");
        await expectText(bob, "Sorry, but that name is already taken. Try again!\n> ");
        await bob.sendAll("bob\n");
        await expectText(bob, "Okay bob, welcome to the chatroom!\n> ");
        await expectText(alice, "bob joins the chatroom!\n> ");

        await bob.sendAll("hi alice\n");
        await expectText(bob, "> ");
        await expectText(alice, `[bob] (127.0.0.1:${bob.localPort}): hi alice\n> `);

        // bob vanishes abruptly; the room goes on.
        await bob.close();
        await expectText(alice, "bob has left the chatroom!\n> ");
        const carol = await connect(local(port));
        await expectText(carol, welcome);
        await carol.sendAll("bob\n"); // the name is free again
        await expectText(carol, "Okay bob, welcome to the chatroom!\n> ");
        await expectText(alice, "bob joins the chatroom!\n> ");
        await alice.sendAll("welcome back\n");
        await expectText(carol, `[alice] (127.0.0.1:${alice.localPort}): welcome back\n> `);
        await alice.close();
        await carol.close();
      });
      expect(server.process.exitCode).toBeNull(); // still serving
    } finally {
      server.process.kill();
    }
  }, 15000);

  test("chatroom-server.ts: Ctrl+C logs that it is exiting and exits 0, no stack trace", async () => {
    const server = new Example("chatroom-server.ts", { HOST: "127.0.0.1", PORT: "0" });
    try {
      await server.port(/Serving asynchronously at 127\.0\.0\.1:(\d+)$/);
      server.process.kill("SIGINT");
      expect(await server.process.exited).toBe(0);
      const stderr = (await server.stderr).trim().split("\n");
      expect(stderr.at(-1)).toMatch(/^\[INFO\] .* Ctrl\+C detected, exiting$/);
      expect(stderr.length).toBe(2);
    } finally {
      server.process.kill();
    }
  }, 15000);

  test("chatroom-client.ts: sends typed lines, prints what the room says, ends on EOF", async () => {
    const server = new Example("chatroom-server.ts", { HOST: "127.0.0.1", PORT: "0" });
    try {
      const port = await server.port(/Serving asynchronously at 127\.0\.0\.1:(\d+)$/);
      await run(async () => {
        await using watcher = await connect(local(port));
        await expectText(watcher, "Welcome to the chatroom pal, may you tell me your name?\n> ");
        await watcher.sendAll("watcher\n");
        await expectText(watcher, "Okay watcher, welcome to the chatroom!\n> ");

        const client = new Example("chatroom-client.ts", { HOST: "127.0.0.1", PORT: String(port) });
        await client.line(/may you tell me your name\?/);
        client.process.stdin.write("dave\n");
        client.process.stdin.flush();
        await expectText(watcher, "dave joins the chatroom!\n> ");
        client.process.stdin.write("hello from the client\n");
        client.process.stdin.flush();
        await expectText(watcher, `[dave] (127.0.0.1:`);
        expect(text(await watcher.receiveUntil("\n"))).toMatch(/^\d+\): hello from the client\n$/);
        await expectText(watcher, "> ");
        await watcher.sendAll("hello dave\n");
        await client.line(/\[watcher\] \(127\.0\.0\.1:\d+\): hello dave/);
        client.process.stdin.end(); // EOF: the client half-closes, the server closes, it exits
        expect(await client.process.exited).toBe(0);
        await client.line(/^Disconnected$/);
        await expectText(watcher, "> dave has left the chatroom!\n> ");
      });
    } finally {
      server.process.kill();
    }
  }, 15000);

  test("chatroom-client.ts: the server closing the connection ends the client, stdin still open", async () => {
    await run(async () => {
      await using server = await listen(local(0));
      await withPool(async (pool) => {
        pool.spawn(() =>
          server.serve(async (stream) => {
            await stream.sendAll("Welcome, and goodbye\n");
            expect(text(await stream.receiveUntil("\n"))).toBe("hi\n");
          }),
        );
        const client = new Example("chatroom-client.ts", {
          HOST: "127.0.0.1",
          PORT: String(server.port),
        });
        try {
          await client.line(/^Welcome, and goodbye$/);
          client.process.stdin.write("hi\n"); // the server answers by closing
          client.process.stdin.flush();
          // stdin stays open: only the closed connection can end the client.
          expect(await client.process.exited).toBe(0);
          await client.line(/^Disconnected$/);
          expect(await client.stderr).toBe("");
        } finally {
          client.process.kill();
        }
        pool.cancel();
      });
    });
  }, 15000);

  test("chatroom-client.ts: Ctrl+C stops it quietly with status 130", async () => {
    await run(async () => {
      await using server = await listen(local(0));
      await withPool(async (pool) => {
        pool.spawn(() =>
          server.serve(async (stream) => {
            await stream.sendAll("Welcome\n");
            await sleep(60_000);
          }),
        );
        const client = new Example("chatroom-client.ts", {
          HOST: "127.0.0.1",
          PORT: String(server.port),
        });
        try {
          await client.line(/^Welcome$/);
          client.process.kill("SIGINT");
          expect(await client.process.exited).toBe(130);
          expect(await client.stderr).toBe("");
        } finally {
          client.process.kill();
        }
        pool.cancel();
      });
    });
  }, 15000);

  test("proxy.ts: forwards both ways, propagates half-close, stops cleanly with a summary", async () => {
    await run(async () => {
      // The target answers a request that ends with EOF, then closes: that needs half-close.
      await using target = await listen(local(0));
      const proxy = new Example("proxy.ts", {
        HOST: "127.0.0.1",
        PORT: "0",
        TARGET_HOST: "127.0.0.1",
        TARGET_PORT: String(target.port),
      });
      try {
        const port = await proxy.port(/^Starting two-way proxy from 127\.0\.0\.1:(\d+) to/);
        await withPool(async (pool) => {
          pool.spawn(() =>
            target.serve(async (stream) => {
              const request = await readAll(stream);
              await stream.sendAll(`you sent ${request.length} bytes: ${text(request)}`);
            }),
          );
          for (let i = 0; i < 2; i++) {
            await using client = await connect(local(port));
            await client.sendAll(`request ${i}`);
            await client.sendEof();
            expect(text(await readAll(client))).toBe(`you sent 9 bytes: request ${i}`);
          }
          await sleep(50);
          proxy.process.kill("SIGINT");
          expect(await proxy.process.exited).toBe(0);
          pool.cancel();
        });
        await proxy.line(
          /^Proxy has exited after \d+\.\d\d seconds: 2 connections, 18 bytes up, 54 bytes down$/,
        );
      } finally {
        proxy.process.kill();
      }
    });
  }, 15000);

  test("children.ts: both children start before main waits, finish together after ~2 s", async () => {
    const example = new Example("children.ts", {});
    expect(await example.process.exited).toBe(0);
    await example.line(/complete/);
    const lines = example.lines.filter((line) => line !== "");
    expect(lines.slice(0, 3)).toEqual([
      "[child] Child spawned! Sleeping for 2 seconds",
      "[child 1] Child spawned! Sleeping for 2 seconds",
      "[main] Children spawned, awaiting completion",
    ]);
    expect(lines.slice(3, 5).sort()).toEqual([
      "[child 1] Had a nice nap!",
      "[child] Had a nice nap!",
    ]);
    const seconds = Number(/complete in (\d+\.\d\d) seconds/.exec(lines[5] as string)?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(1.99);
    // Run one after the other they would take 4 s; the rest is room for a loaded machine.
    expect(seconds).toBeLessThan(3.8);
  }, 15000);

  test("children.ts is the program README.md shows, from its import on", async () => {
    const readme = await Bun.file(`${EXAMPLES}/../README.md`).text();
    const file = await Bun.file(`${EXAMPLES}/children.ts`).text();
    const program = file
      .slice(file.indexOf("\nimport ") + 1)
      .replace('"../src/index.ts"', '"giambio"');
    expect(readme).toContain(`\`\`\`ts\n${program}\`\`\``);
  });

  test("debugger.ts prints the lines README.md shows, in that order", async () => {
    const readme = await Bun.file(`${EXAMPLES}/../README.md`).text();
    const shown = /the shape of giambio's own debugger[\s\S]*?```text\n([\s\S]*?)```/.exec(
      readme,
    )?.[1];
    const expected = (shown ?? "").split("\n").filter((line) => line !== "" && line !== "...");
    expect(expected.length).toBeGreaterThan(10);
    const example = new Example("debugger.ts", {});
    expect(await example.process.exited).toBe(0);
    await example.line(/^## Finished running$/);
    // Measured durations (2.00 s, or 1.99 when the step before took a while) may differ.
    const shape = (line: string) => line.replace(/\d+\.\d\d/g, "#.##");
    const printed = example.lines.map(shape);
    let at = 0;
    for (const line of expected) {
      const found = printed.indexOf(shape(line), at);
      expect({ line, found: found >= 0 }).toEqual({ line, found: true });
      at = found + 1;
    }
  }, 15000);

  test("debugger.ts: a bad SECONDS is refused before anything runs", async () => {
    for (const argument of ["abc", "-1", ""]) {
      const example = new Example("debugger.ts", {}, [argument]);
      expect(await example.process.exited).toBe(2);
      expect(example.lines.filter((line) => line !== "")).toEqual([
        `usage: bun examples/debugger.ts [SECONDS]: SECONDS must be a non-negative number, got '${argument}'`,
      ]);
    }
  }, 15000);

  test("Ctrl+C: children.ts and debugger.ts stop quietly with status 130", async () => {
    for (const name of ["children.ts", "debugger.ts"]) {
      const example = new Example(name, {});
      await example.line(/^\[main\] Children spawned, awaiting completion$/);
      example.process.kill("SIGINT");
      expect(await example.process.exited).toBe(130);
      expect(await example.stderr).toBe("");
      expect(example.lines.some((line) => /Had a nice nap/.test(line))).toBe(false);
    }
  }, 15000);
});
