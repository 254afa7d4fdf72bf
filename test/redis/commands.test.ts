/**
 * The command engine of examples/redis-server.ts without sockets: `execute` over a `Store`
 * on a hand-moved clock, replies compared with what redis 7 answers, and the expiry sweeper
 * on a `MockClock`.
 */
import { describe, expect, test } from "bun:test";
import { execute, expireKeys, Store } from "../../examples/redis-server.ts";
import { clock, MockClock, Scheduler, sleep, withPool } from "../../src/index.ts";

/** A store on a clock the test moves by hand, and a shorthand for running one command. */
function fixture() {
  const time = { now: 1_000_000 };
  const store = new Store(() => time.now);
  const redis = (...args: string[]) => execute(args, store);
  return { time, store, redis };
}

describe("commands", () => {
  test("PING, PING message, ECHO", () => {
    const { redis } = fixture();
    expect(redis("PING")).toBe("+PONG\r\n");
    expect(redis("ping", "hi")).toBe("$2\r\nhi\r\n");
    expect(redis("PING", "a", "b")).toBe("-ERR wrong number of arguments for 'ping' command\r\n");
    expect(redis("ECHO", "x\r\ny")).toBe("$4\r\nx\r\ny\r\n");
  });

  test("command names are case-insensitive; unknown ones are answered as redis does", () => {
    const { redis } = fixture();
    expect(redis("gEt", "k")).toBe("$-1\r\n");
    expect(redis("FOO", "bar", "baz")).toBe(
      "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n",
    );
    expect(redis("foo")).toBe("-ERR unknown command 'foo', with args beginning with: \r\n");
    // Names of Object.prototype members are no commands either.
    expect(redis("constructor")).toStartWith("-ERR unknown command 'constructor'");
    expect(redis("x", "y".repeat(300))).toBe(
      `-ERR unknown command 'x', with args beginning with: '${"y".repeat(128)}' \r\n`,
    );
  });

  test("wrong arity gets redis's message with the command's name", () => {
    const { redis } = fixture();
    expect(redis("GET")).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(redis("SET", "k")).toBe("-ERR wrong number of arguments for 'set' command\r\n");
    expect(redis("MSET", "a")).toBe("-ERR wrong number of arguments for 'mset' command\r\n");
    expect(redis("MSET", "a", "1", "b")).toBe(
      "-ERR wrong number of arguments for 'mset' command\r\n",
    );
    expect(redis("DBSIZE", "x")).toBe("-ERR wrong number of arguments for 'dbsize' command\r\n");
  });

  test("SET and GET; values are binary-safe", () => {
    const { redis } = fixture();
    expect(redis("SET", "k", "v\xff\r\n")).toBe("+OK\r\n");
    expect(redis("GET", "k")).toBe("$4\r\nv\xff\r\n\r\n");
    expect(redis("GET", "missing")).toBe("$-1\r\n");
  });

  test("SET NX / XX / GET / KEEPTTL, and their syntax errors", () => {
    const { redis } = fixture();
    expect(redis("SET", "k", "1", "XX")).toBe("$-1\r\n");
    expect(redis("SET", "k", "1", "NX")).toBe("+OK\r\n");
    expect(redis("SET", "k", "2", "nx")).toBe("$-1\r\n");
    expect(redis("SET", "k", "3", "XX", "GET")).toBe("$1\r\n1\r\n");
    expect(redis("GET", "k")).toBe("$1\r\n3\r\n");
    expect(redis("SET", "k", "4", "NX", "GET")).toBe("$1\r\n3\r\n");
    expect(redis("SET", "k", "v", "NX", "XX")).toBe("-ERR syntax error\r\n");
    expect(redis("SET", "k", "v", "EX")).toBe("-ERR syntax error\r\n");
    expect(redis("SET", "k", "v", "FOO")).toBe("-ERR syntax error\r\n");
    expect(redis("SET", "k", "v", "EX", "1", "PX", "1")).toBe("-ERR syntax error\r\n");
    expect(redis("SET", "k", "v", "EX", "abc")).toBe(
      "-ERR value is not an integer or out of range\r\n",
    );
    for (const bad of ["0", "-5", "9223372036854775807"]) {
      expect(redis("SET", "k", "v", "EX", bad)).toBe(
        "-ERR invalid expire time in 'set' command\r\n",
      );
    }
    expect(redis("SET", "t", "v", "EX", "100")).toBe("+OK\r\n");
    expect(redis("SET", "t", "w", "KEEPTTL")).toBe("+OK\r\n");
    expect(redis("TTL", "t")).toBe(":100\r\n");
    expect(redis("SET", "t", "x")).toBe("+OK\r\n");
    expect(redis("TTL", "t")).toBe(":-1\r\n");
  });

  test("SET EX / PX expire the key at the deadline: GET, TTL, PTTL, EXISTS", () => {
    const { time, redis } = fixture();
    expect(redis("SET", "s", "v", "EX", "10")).toBe("+OK\r\n");
    expect(redis("SET", "p", "v", "PX", "1500")).toBe("+OK\r\n");
    expect(redis("TTL", "s")).toBe(":10\r\n");
    expect(redis("PTTL", "p")).toBe(":1500\r\n");
    expect(redis("TTL", "p")).toBe(":2\r\n"); // rounded, as redis does
    time.now += 1499;
    expect(redis("GET", "p")).toBe("$1\r\nv\r\n");
    time.now += 1;
    expect(redis("GET", "p")).toBe("$-1\r\n");
    expect(redis("PTTL", "p")).toBe(":-2\r\n");
    expect(redis("EXISTS", "s", "p")).toBe(":1\r\n");
    time.now += 8500;
    expect(redis("EXISTS", "s")).toBe(":0\r\n");
    expect(redis("TTL", "s")).toBe(":-2\r\n");
  });

  test("EXPIRE / PEXPIRE / PERSIST and their options", () => {
    const { time, redis } = fixture();
    expect(redis("EXPIRE", "none", "10")).toBe(":0\r\n");
    redis("SET", "k", "v");
    expect(redis("TTL", "k")).toBe(":-1\r\n");
    expect(redis("EXPIRE", "k", "x")).toBe("-ERR value is not an integer or out of range\r\n");
    expect(redis("EXPIRE", "k", "9223372036854775807")).toBe(
      "-ERR invalid expire time in 'expire' command\r\n",
    );
    expect(redis("EXPIRE", "k", "10", "XX")).toBe(":0\r\n");
    expect(redis("EXPIRE", "k", "10", "NX")).toBe(":1\r\n");
    expect(redis("EXPIRE", "k", "20", "NX")).toBe(":0\r\n");
    expect(redis("EXPIRE", "k", "5", "GT")).toBe(":0\r\n");
    expect(redis("EXPIRE", "k", "30", "GT")).toBe(":1\r\n");
    expect(redis("PEXPIRE", "k", "2000", "LT")).toBe(":1\r\n");
    expect(redis("PTTL", "k")).toBe(":2000\r\n");
    expect(redis("EXPIRE", "k", "1", "FOO")).toBe("-ERR Unsupported option FOO\r\n");
    expect(redis("EXPIRE", "k", "1", "NX", "XX")).toBe(
      "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    expect(redis("EXPIRE", "k", "1", "GT", "LT")).toBe(
      "-ERR GT and LT options at the same time are not compatible\r\n",
    );
    expect(redis("PERSIST", "k")).toBe(":1\r\n");
    expect(redis("PERSIST", "k")).toBe(":0\r\n");
    expect(redis("TTL", "k")).toBe(":-1\r\n");
    // A deadline in the past deletes the key at once.
    expect(redis("EXPIRE", "k", "-1")).toBe(":1\r\n");
    expect(redis("EXISTS", "k")).toBe(":0\r\n");
    redis("SET", "k", "v");
    redis("PEXPIRE", "k", "100");
    time.now += 100;
    expect(redis("GET", "k")).toBe("$-1\r\n");
  });

  test("INCR / DECR / INCRBY / DECRBY: 64-bit, errors as redis, TTL kept", () => {
    const { redis } = fixture();
    expect(redis("INCR", "n")).toBe(":1\r\n");
    expect(redis("INCRBY", "n", "41")).toBe(":42\r\n");
    expect(redis("DECR", "n")).toBe(":41\r\n");
    expect(redis("DECRBY", "n", "-9")).toBe(":50\r\n");
    expect(redis("INCRBY", "n", "1.5")).toBe("-ERR value is not an integer or out of range\r\n");
    redis("SET", "s", "abc");
    expect(redis("INCR", "s")).toBe("-ERR value is not an integer or out of range\r\n");
    redis("SET", "z", "007");
    expect(redis("INCR", "z")).toBe("-ERR value is not an integer or out of range\r\n");
    redis("SET", "max", "9223372036854775806");
    expect(redis("INCR", "max")).toBe(":9223372036854775807\r\n");
    expect(redis("INCR", "max")).toBe("-ERR increment or decrement would overflow\r\n");
    expect(redis("GET", "max")).toBe("$19\r\n9223372036854775807\r\n");
    expect(redis("DECRBY", "n", "-9223372036854775808")).toBe("-ERR decrement would overflow\r\n");
    redis("SET", "t", "1", "EX", "100");
    redis("INCR", "t");
    expect(redis("TTL", "t")).toBe(":100\r\n");
  });

  test("MSET / MGET / DEL / EXISTS count each key", () => {
    const { redis } = fixture();
    expect(redis("MSET", "a", "1", "b", "2")).toBe("+OK\r\n");
    expect(redis("MGET", "a", "nope", "b")).toBe("*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n");
    expect(redis("EXISTS", "a", "a", "nope")).toBe(":2\r\n");
    expect(redis("DEL", "a", "nope", "b")).toBe(":2\r\n");
    expect(redis("DEL", "a")).toBe(":0\r\n");
  });

  test("DBSIZE counts live keys only; FLUSHDB empties", () => {
    const { time, redis } = fixture();
    redis("MSET", "a", "1", "b", "2");
    redis("SET", "c", "3", "PX", "10");
    expect(redis("DBSIZE")).toBe(":3\r\n");
    time.now += 10;
    expect(redis("DBSIZE")).toBe(":2\r\n");
    expect(redis("FLUSHDB", "NOW")).toBe("-ERR syntax error\r\n");
    expect(redis("FLUSHDB", "ASYNC")).toBe("+OK\r\n");
    expect(redis("DBSIZE")).toBe(":0\r\n");
  });

  test("what clients ask at startup: COMMAND, CONFIG GET, SELECT 0; QUIT", () => {
    const { redis } = fixture();
    expect(redis("COMMAND", "DOCS")).toBe("*0\r\n");
    expect(redis("CONFIG", "GET", "save")).toBe("*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    expect(redis("CONFIG", "GET", "appendonly")).toBe("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    expect(redis("CONFIG", "GET", "maxmemory-policy")).toBe("*0\r\n");
    expect(redis("CONFIG", "SET", "a", "b")).toBe(
      "-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n",
    );
    expect(redis("SELECT", "0")).toBe("+OK\r\n");
    expect(redis("SELECT", "1")).toBe("-ERR DB index is out of range\r\n");
    expect(redis("QUIT")).toBe("+OK\r\n");
  });
});

describe("expiry sweeper", () => {
  test("removes each key at its deadline, woken early by an earlier one (virtual time)", async () => {
    const removedAt: Record<string, number> = {};
    /** Records when each key is removed (the sweeper removes through `delete`). */
    class WatchedStore extends Store {
      override delete(key: string): boolean {
        removedAt[key] = clock();
        return super.delete(key);
      }
    }
    const mock = new MockClock({ autojump: true });
    await new Scheduler({ clock: mock, handleSignals: false }).run(async () => {
      const store = new WatchedStore(clock);
      await withPool(async (pool) => {
        pool.spawn(expireKeys, store);
        execute(["SET", "late", "v", "PX", "5000"], store);
        execute(["SET", "forever", "v"], store);
        await sleep(10);
        // Earlier than the deadline the sweeper sleeps until: it must wake for this one.
        execute(["SET", "early", "v", "PX", "1000"], store);
        await sleep(60_000);
        expect(store.size).toBe(1);
        pool.cancel();
      });
    });
    expect(removedAt).toEqual({ early: 1010, late: 5000 });
  });

  test("a key rewritten with a later deadline is not removed at the old one", async () => {
    const mock = new MockClock({ autojump: true });
    await new Scheduler({ clock: mock, handleSignals: false }).run(async () => {
      const store = new Store(clock);
      await withPool(async (pool) => {
        pool.spawn(expireKeys, store);
        execute(["SET", "k", "v", "PX", "100"], store);
        execute(["PEXPIRE", "k", "1000"], store);
        await sleep(500);
        expect(store.size).toBe(1);
        await sleep(600);
        expect(store.size).toBe(0);
        pool.cancel();
      });
    });
  });

  test("many rewrites of one key's TTL keep the deadline heap small", () => {
    const time = { now: 0 };
    const store = new Store(() => time.now);
    for (let i = 0; i < 10_000; i++) execute(["SET", "k", "v", "EX", String(100 + i)], store);
    expect(store.trackedDeadlines).toBeLessThan(100);
    time.now = 10_098_999;
    store.removeExpired();
    expect(store.size).toBe(1);
    time.now = 10_099_000;
    store.removeExpired();
    expect(store.size).toBe(0);
  });
});
