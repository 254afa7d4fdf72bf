/**
 * Abrupt peers: clients that reset or close in the middle of an exchange or right after
 * connecting, half-close and go silent, or connect and never send. Each handler must end with the one clear outcome its
 * peer's behaviour calls for (an error of the right class, or EOF), the server must go on
 * serving well-behaved clients meanwhile, and every handler's `finally` must run exactly once.
 *
 * The first byte a client sends tells the handler what to do; its outcome is recorded under
 * "untagged" if none came (the silent client; one reset at once), "eof-first" on EOF (one
 * closed at once):
 * - `W`: receiveExactly(1 MiB); the client sends 100 KiB of it, then resets (`terminate()`)
 *   or closes.
 * - `S`: read nothing for 300 ms, then read to the end; the client's 64 MiB `sendAll` is
 *   pending meanwhile, and its stream is closed under a deadline: the connection is aborted.
 * - `R`: sendAll(16 MiB); the client reads a little and closes (unread data: a reset).
 * - `H`: receive to EOF, then say "bye"; the client half-closes and stays silent.
 * - `E`: echo until EOF (the well-behaved bystanders).
 */
import { expect, test } from "bun:test";
import {
  BrokenResourceError,
  CancelledError,
  connect,
  IncompleteReadError,
  listen,
  ResourceClosedError,
  run,
  type SocketStream,
  skipAfter,
  sleep,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { seededRandom } from "../../src/seeded-random.ts";
import { echo, readAll, text } from "../net/helpers.ts";
import { exchangeEcho, randomBytes } from "./clients.ts";

const MiB = 1 << 20;
/** Connections in this test, each with its handler. */
const HANDLERS = 13;

/** What each handler ended with, by the scenario its peer announced. */
class Outcomes {
  readonly ended = new Map<string, unknown[]>();
  readonly finallies = new Map<string, number>();
  started = 0;

  record(scenario: string, outcome: unknown): void {
    this.ended.set(scenario, [...(this.ended.get(scenario) ?? []), outcome]);
  }

  /** The one outcome of a single-client scenario. */
  only(scenario: string): unknown {
    const outcomes = this.ended.get(scenario) ?? [];
    if (outcomes.length !== 1) throw new Error(`${scenario}: ${outcomes.length} outcomes`);
    return outcomes[0];
  }

  get finished(): number {
    let n = 0;
    for (const count of this.finallies.values()) n += count;
    return n;
  }
}

function handlerFor(outcomes: Outcomes) {
  return async (stream: SocketStream): Promise<void> => {
    outcomes.started++;
    let scenario = "untagged";
    try {
      const tag = await stream.receive(1);
      scenario = tag.length === 0 ? "eof-first" : text(tag);
      if (scenario === "W") {
        await stream.receiveExactly(MiB);
      } else if (scenario === "S") {
        await sleep(300);
        await readAll(stream);
      } else if (scenario === "R") {
        await stream.sendAll(new Uint8Array(16 * MiB));
      } else if (scenario === "H") {
        const rest = await stream.receive();
        if (rest.length !== 0) throw new Error(`H: expected EOF, got ${rest.length} bytes`);
        await stream.sendAll("bye\n");
      } else {
        await echo(stream);
      }
      outcomes.record(scenario, "done");
    } catch (error) {
      outcomes.record(scenario, error);
      throw error;
    } finally {
      outcomes.finallies.set(scenario, (outcomes.finallies.get(scenario) ?? 0) + 1);
    }
  };
}

test("abrupt peers get clear errors or EOF, others are served meanwhile, every finally runs", async () => {
  const outcomes = new Outcomes();
  const reported: unknown[] = [];
  await run(async () => {
    const listener = await listen({ hostname: "127.0.0.1", port: 0 });
    const address = { hostname: "127.0.0.1", port: listener.port };
    await withPool(async (server) => {
      server.spawn(() =>
        listener.serve(handlerFor(outcomes), { onError: (error) => void reported.push(error) }),
      );
      const silent = await connect(address);
      const halfClosed = await connect(address);
      await halfClosed.sendAll("H");
      await halfClosed.sendEof();

      await withPool(async (clients) => {
        // Raw Bun sockets reset or closed as soon as they are connected.
        clients.spawn(async () => {
          (await Bun.connect({ ...address, socket: { data() {} } })).terminate();
          (await Bun.connect({ ...address, socket: { data() {} } })).end();
        });
        // W + reset: a raw Bun socket, terminated mid-body.
        clients.spawn(async () => {
          const raw = await Bun.connect({ ...address, socket: { data() {} } });
          raw.write("W");
          raw.write(new Uint8Array(100 * 1024));
          await sleep(50);
          raw.terminate();
        });
        // W + close: a giambio stream closed gracefully mid-body.
        clients.spawn(async () => {
          const stream = await connect(address);
          await stream.sendAll("W");
          await stream.sendAll(new Uint8Array(100 * 1024));
          await stream.close();
        });
        // S: a giambio stream closed while its sendAll is pending; the close is cut short.
        clients.spawn(async () => {
          const stream = await connect(address);
          await stream.sendAll("S");
          await withPool(async (pool) => {
            const sender = pool.spawn(() =>
              stream.sendAll(new Uint8Array(64 * MiB)).catch((e) => e),
            );
            await sleep(100);
            expect(sender.done).toBe(false);
            expect(await skipAfter(20, () => stream.close())).toBeUndefined();
            expect(await sender.join()).toBeInstanceOf(ResourceClosedError);
          });
        });
        // R: closed in the middle of reading a large reply.
        clients.spawn(async () => {
          const stream = await connect(address);
          await stream.sendAll("R");
          await stream.receiveExactly(64 * 1024);
          await stream.close();
        });
      });

      // The server still serves: bystanders get byte-exact echoes while the silent and the
      // half-closed peers hold their connections and S's handler is still draining.
      expect(outcomes.ended.has("S")).toBe(false);
      await withPool(async (pool) => {
        for (let i = 0; i < 5; i++) {
          pool.spawn(async () => {
            const random = seededRandom(i);
            await using stream = await connect(address);
            await stream.sendAll("E");
            await exchangeEcho(stream, randomBytes(random, 200 * 1024), random);
          });
        }
      });

      await withTimeout(5000, async () => {
        while (outcomes.finished < HANDLERS - 1) await sleep(10);
      });
      expect(outcomes.started).toBe(HANDLERS);
      // The silent one is still waiting for its first byte.
      expect(outcomes.ended.get("untagged")).toEqual([expect.any(BrokenResourceError)]);
      server.cancel();
      // Cancelling the serve closed the silent peer's connection; the half-closed one got
      // the handler's answer, then EOF.
      expect((await silent.receive()).length).toBe(0);
      expect(text(await readAll(halfClosed))).toBe("bye\n");
      await silent.close();
      await halfClosed.close();
    });
  });

  const wReset = outcomes.ended.get("W")?.find((e) => e instanceof BrokenResourceError);
  const wClosed = outcomes.ended.get("W")?.find((e) => e instanceof IncompleteReadError);
  expect(outcomes.ended.get("W")).toHaveLength(2);
  expect((wReset as Error).message).toContain("connection reset by peer (ECONNRESET)");
  expect((wClosed as IncompleteReadError).partial.length).toBe(100 * 1024);
  expect((wClosed as Error).message).toContain("the peer stopped sending after 102400 bytes");
  for (const scenario of ["S", "R"]) {
    expect(outcomes.only(scenario)).toBeInstanceOf(BrokenResourceError);
    expect((outcomes.only(scenario) as Error).message).toMatch(/\((ECONNRESET|EPIPE)\)$/);
  }
  expect(outcomes.only("H")).toBe("done");
  const [reset, silentEnd] = outcomes.ended.get("untagged") ?? [];
  expect((reset as Error).message).toContain("(ECONNRESET)");
  expect(silentEnd).toBeInstanceOf(CancelledError);
  expect(outcomes.only("eof-first")).toBe("done");
  expect(outcomes.ended.get("E")).toEqual(["done", "done", "done", "done", "done"]);
  // Each handler's finally ran exactly once; onError saw exactly the errors (not the
  // cancellation, which is not an error to report).
  expect(outcomes.started).toBe(HANDLERS);
  expect(Object.fromEntries(outcomes.finallies)).toEqual({
    W: 2,
    S: 1,
    R: 1,
    H: 1,
    E: 5,
    untagged: 2,
    "eof-first": 1,
  });
  expect(reported).toHaveLength(5);
  expect(
    reported.every((e) => e instanceof BrokenResourceError || e instanceof IncompleteReadError),
  ).toBe(true);
}, 20_000);
