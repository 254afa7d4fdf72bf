/**
 * examples/redis-server.ts as a user runs it, driven by the real `redis-cli` and
 * `redis-benchmark` and by raw bytes over a socket (loopback only).
 */
import { describe, expect } from "bun:test";
import type { Socket } from "bun";
import { MAX_INLINE_LENGTH } from "../../examples/redis-server.ts";
import { RedisExample, runTool, testWithTools } from "./tools.ts";

const withCli = testWithTools("redis-cli");
const withBenchmark = testWithTools("redis-benchmark");

/**
 * Sends `bytes` on a new connection (then, with `end`, half-closes it) and resolves with
 * everything the server sent until it closed the connection (rejects after 5 s: the server
 * must close it).
 */
function exchange(port: number, data: string | Uint8Array, end = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const received: Uint8Array[] = [];
    let unsent = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    const timer = setTimeout(
      () => reject(new Error("the server did not close the connection")),
      5000,
    );
    /** Writes what the socket takes; the rest waits for `drain`. */
    const send = (socket: Socket) => {
      const written = socket.write(unsent);
      unsent = unsent.subarray(Math.max(written, 0));
      if (unsent.length === 0 && end) socket.shutdown();
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        binaryType: "uint8array",
        open: send,
        drain: (socket) => {
          if (unsent.length > 0) send(socket);
        },
        data: (_socket, chunk) => void received.push(chunk),
        close: () => {
          clearTimeout(timer);
          resolve(Buffer.concat(received).toString("latin1"));
        },
        // The server closing on garbage it has not all read resets the connection: for
        // this test that is a close like any other.
        error: (_socket, error) => {
          if ((error as { code?: string }).code !== "ECONNRESET") reject(error);
        },
      },
    }).catch(reject);
  });
}

describe("examples/redis-server.ts with redis-cli", () => {
  withCli("SET, GET, INCR, MGET, EXISTS, DEL, DBSIZE", async () => {
    await using server = await RedisExample.start();
    const cli = (...args: string[]) => server.cli(args);
    expect(await cli("SET", "greeting", "hello world")).toBe("OK\n");
    expect(await cli("GET", "greeting")).toBe("hello world\n");
    expect(await cli("GET", "nothing")).toBe("\n");
    expect(await cli("INCR", "counter")).toBe("1\n");
    expect(await cli("INCRBY", "counter", "41")).toBe("42\n");
    expect(await cli("MSET", "a", "1", "b", "2")).toBe("OK\n");
    expect(await cli("MGET", "a", "nothing", "b")).toBe("1\n\n2\n");
    expect(await cli("EXISTS", "a", "b", "nothing")).toBe("2\n");
    expect(await cli("DEL", "a", "nothing")).toBe("1\n");
    expect(await cli("DBSIZE")).toBe("3\n");
  });

  withCli("EXPIRE, TTL, PTTL; a key is gone after its deadline", async () => {
    await using server = await RedisExample.start();
    const cli = (...args: string[]) => server.cli(args);
    await cli("SET", "k", "v");
    expect(await cli("TTL", "k")).toBe("-1\n");
    expect(await cli("EXPIRE", "k", "100")).toBe("1\n");
    expect(Number(await cli("TTL", "k"))).toBeOneOf([99, 100]);
    expect(Number(await cli("PTTL", "k"))).toBeWithin(90_000, 100_001);
    expect(await cli("SET", "short", "v", "PX", "50")).toBe("OK\n");
    const giveUp = Date.now() + 5000;
    while ((await cli("EXISTS", "short")) !== "0\n") {
      if (Date.now() > giveUp) throw new Error("the key did not expire");
      await Bun.sleep(20);
    }
    expect(await cli("TTL", "short")).toBe("-2\n");
  });

  withCli("a TTL beyond Bun's longest timer (24.8 days) leaves the server idle", async () => {
    await using server = await RedisExample.start();
    // 10^8 s: the sweeper sleeps until then; a timer armed with that as-is fires at once,
    // over and over, each time with a TimeoutOverflowWarning on stderr.
    expect(await server.cli(["SET", "k", "v", "EX", "100000000"])).toBe("OK\n");
    await Bun.sleep(200);
    expect(await server.cli(["TTL", "k"])).toMatch(/^(99999\d{3}|100000000)\n$/);
    server.process.kill("SIGINT");
    expect(await server.process.exited).toBe(0);
    expect(await server.stderr()).toBe("");
  });

  withCli("several commands on one connection, read from stdin", async () => {
    await using server = await RedisExample.start();
    const output = await server.cli([], "SET x 10\nINCR x\nGET x\nPING\n");
    expect(output).toBe("OK\n11\n11\nPONG\n");
  });

  withCli("pipelined with --pipe: 10,000 commands, every reply, no error", async () => {
    await using server = await RedisExample.start();
    let input = "";
    for (let i = 0; i < 10_000; i++) {
      const [key, value] = [`key:${i}`, `value ${i}`];
      input += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
    }
    const output = await server.cli(["--pipe"], input);
    expect(output).toContain("errors: 0, replies: 10000");
    expect(await server.cli(["GET", "key:9999"])).toBe("value 9999\n");
    expect(await server.cli(["DBSIZE"])).toBe("10000\n");
  });

  withCli(
    "unknown command and wrong arity: redis's errors, and the connection goes on",
    async () => {
      await using server = await RedisExample.start();
      expect(await server.cli(["NOSUCH", "x"])).toBe(
        "ERR unknown command 'NOSUCH', with args beginning with: 'x' \n\n",
      );
      expect(await server.cli([], "GET\nPING\n")).toBe(
        "ERR wrong number of arguments for 'get' command\n\nPONG\n",
      );
    },
  );

  withCli("inline commands over a raw socket, then QUIT closes the connection", async () => {
    await using server = await RedisExample.start();
    const reply = await exchange(server.port, 'SET k "a b"\r\nGET k\nPING\r\nQUIT\r\nPING\r\n');
    expect(reply).toBe("+OK\r\n$3\r\na b\r\n+PONG\r\n+OK\r\n");
    expect(await server.cli(["GET", "k"])).toBe("a b\n");
  });

  withCli(
    "garbage gets a protocol error and a closed connection; the server keeps answering",
    async () => {
      await using server = await RedisExample.start();
      const cases: [string | Uint8Array, string][] = [
        ["*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"],
        ["*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
        ["*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
        ["*1\r\n$9999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
        ['PING "unterminated\r\n', "-ERR Protocol error: unbalanced quotes in request\r\n"],
        // The replies to the commands before the garbage still arrive, in order.
        [
          "PING\r\n*1\r\n$4\r\nPINGxx",
          "+PONG\r\n-ERR Protocol error: expected CRLF after a bulk string\r\n",
        ],
        // One byte over the limit, all of it read before the server decides: a server that
        // closes with bytes still unread in the kernel resets the connection instead.
        ["x".repeat(MAX_INLINE_LENGTH + 1), "-ERR Protocol error: too big inline request\r\n"],
      ];
      for (const [garbage, reply] of cases) {
        expect(await exchange(server.port, garbage)).toBe(reply);
      }
      // Random bytes on many connections at once, each ending with EOF (they may end inside
      // a command): each is answered with replies or errors, then closed.
      const random = Array.from({ length: 20 }, () =>
        exchange(
          server.port,
          Uint8Array.from({ length: 2000 }, () => Math.floor(Math.random() * 256)),
          true,
        ),
      );
      for (const reply of await Promise.all(random)) expect(reply).toMatch(/^(-ERR|\+|\$|:|\*|$)/);
      expect(await server.cli(["PING"])).toBe("PONG\n");
      expect(server.process.exitCode).toBeNull();
    },
  );

  withCli("a client leaving mid-command ends only that connection, silently", async () => {
    await using server = await RedisExample.start();
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: { data() {} },
    });
    socket.write("*2\r\n$3\r\nGET\r\n$10\r\nhalf");
    socket.end();
    await Bun.sleep(100);
    expect(await server.cli(["PING"])).toBe("PONG\n");
    server.process.kill("SIGINT");
    expect(await server.process.exited).toBe(0);
    expect(await server.stderr()).toBe("");
  });

  withCli("Ctrl+C (SIGINT) ends it cleanly, with status 0", async () => {
    await using server = await RedisExample.start();
    expect(await server.cli(["PING"])).toBe("PONG\n");
    server.process.kill("SIGINT");
    expect(await server.process.exited).toBe(0);
    expect(await server.nextLine()).toBe("Ctrl+C detected, exiting");
  });

  withCli("SIGTERM drains: an idle connection is closed at once, then status 0", async () => {
    await using server = await RedisExample.start();
    const idle = exchange(server.port, "PING\r\n"); // answered, then left open and idle
    await Bun.sleep(100);
    const start = performance.now();
    server.process.kill("SIGTERM");
    expect(await idle).toBe("+PONG\r\n");
    expect(await server.process.exited).toBe(0);
    // Well before the 10 s grace period: nothing was mid-command.
    expect(performance.now() - start).toBeLessThan(5000);
    expect(await server.nextLine()).toBe("Drained after SIGTERM, exiting");
    expect(await server.stderr()).toBe("");
  });
});

describe("examples/redis-server.ts with redis-benchmark", () => {
  for (const pipeline of [1, 16]) {
    withBenchmark(
      `SET and GET, 20 clients, pipeline ${pipeline}: every request answered`,
      async () => {
        await using server = await RedisExample.start();
        const { stdout, stderr } = await runTool([
          "redis-benchmark",
          ...["-h", "127.0.0.1", "-p", String(server.port)],
          ...["-t", "set,get", "-n", "4000", "-c", "20", "-P", String(pipeline), "--csv"],
        ]);
        expect(stderr).toBe("");
        const rows = stdout
          .trim()
          .split("\n")
          .slice(1)
          .map((line) => line.split(",")[0]);
        expect(rows).toEqual(['"SET"', '"GET"']);
        // Every SET landed on one of redis-benchmark's keys (it uses just "key:__rand_int__").
        expect(await server.cli(["GET", "key:__rand_int__"])).toBe("VXK\n");
        server.process.kill("SIGINT");
        expect(await server.process.exited).toBe(0);
        expect(await server.stderr()).toBe("");
      },
    );
  }
});
