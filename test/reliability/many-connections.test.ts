/**
 * Many connections at once: N clients (300; 2,000 with GIAMBIO_HEAVY=1) connect to a `serve`
 * echo server in its own process and stay connected together; then each verifies a byte-exact
 * echo of its own random payload and disconnects. The server must have run one handler per
 * client, refused none, and once everyone has left its open file descriptors, live handlers,
 * live tasks and SocketStream objects must be back where they started.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect, Event, run, type SocketStream, until, withPool } from "../../src/index.ts";
import { seededRandom } from "../../src/seeded-random.ts";
import { exchangeEcho, randomBytes } from "./clients.ts";
import { HEAVY, ServerProcess } from "./server-process.ts";

const CLIENTS = HEAVY ? 2000 : 300;
const MAX_PAYLOAD = 32 * 1024;

/** This process's limit on open files (Bun raises the soft limit to the hard one itself). */
function openFileLimit(): number {
  const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  return line === null || line[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(line[1]);
}

test(
  `${CLIENTS} concurrent clients: byte-exact echo; fds and tasks return to their start`,
  async () => {
    // Each client holds a descriptor here and one in the server; leave room for the rest.
    const needed = CLIENTS + 200;
    if (openFileLimit() < needed) {
      throw new Error(`needs a limit of ${needed} open files: raise it (ulimit -Hn)`);
    }
    const server = await ServerProcess.start("echo");
    try {
      const before = await server.stats();
      expect(before.started).toBe(0);

      await run(async () => {
        const allConnected = new Event();
        const exchange = new Event();
        let connected = 0;
        await withPool(async (pool) => {
          for (let id = 0; id < CLIENTS; id++) {
            pool.spawnNamed(`client-${id}`, async () => {
              const random = seededRandom(id);
              const payload = randomBytes(random, 1 + Math.floor(random() * MAX_PAYLOAD));
              let stream: SocketStream | undefined;
              try {
                stream = await connect({ hostname: "127.0.0.1", port: server.port });
                if (++connected === CLIENTS) allConnected.set();
                await exchange.wait();
                await exchangeEcho(stream, payload, random);
              } finally {
                await stream?.close();
              }
            });
          }
          await allConnected.wait();
          // Every client holds its connection: the server runs one handler for each.
          const during = await until(server.waitFor((s) => s.started === CLIENTS));
          expect(during.started).toBe(CLIENTS);
          expect(during.finished).toBe(0);
          expect(during.fds).toBeGreaterThanOrEqual(before.fds + CLIENTS);
          exchange.set();
        });
      });

      const after = await server.waitFor(
        // The streams are counted by finalization callbacks, which a loaded machine can run a
        // poll or two after the GC: wait for them too (bounded); a leak never gets there.
        (s) =>
          s.finished === CLIENTS &&
          s.fds === before.fds &&
          s.liveTasks === before.liveTasks &&
          s.liveStreams < CLIENTS / 20,
      );
      expect(after.started).toBe(CLIENTS);
      expect(after.finished).toBe(CLIENTS);
      expect(after.refused).toBe(0);
      expect(after.errors).toEqual({});
      expect(after.fds).toBe(before.fds);
      expect(after.liveTasks).toBe(before.liveTasks);
      // The GC may still see a few through conservative stack scanning; a leak keeps them all.
      expect(after.liveStreams).toBeLessThan(CLIENTS / 20);
    } finally {
      await server.stop();
    }
  },
  HEAVY ? 120_000 : 30_000,
);
