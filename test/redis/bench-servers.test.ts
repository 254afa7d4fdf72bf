/**
 * The servers bench/redis.bench.ts compares the example with (bench/redis/servers.ts) give
 * the same replies as the example's engine, byte for byte, when commands arrive pipelined
 * and split at random points: a baseline that skipped work would make every ratio a lie.
 */
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { execute, Store } from "../../examples/redis-server.ts";
import { seededRandom } from "../../src/seeded-random.ts";
import { readLines } from "../support/read-lines.ts";
import { encodeArray } from "./resp.ts";

const SERVERS = `${import.meta.dir}/../../bench/redis/servers.ts`;

/** Writes `pieces` one per event-loop turn, then half-closes; resolves with all replies. */
function converse(port: number, pieces: Uint8Array[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const received: Uint8Array[] = [];
    const timer = setTimeout(() => reject(new Error("no end of the replies")), 5000);
    const sendNext = (socket: Socket, index: number) => {
      if (index === pieces.length) return void socket.shutdown();
      // Small pieces: socket.write takes them whole on loopback.
      socket.write(pieces[index] as Uint8Array);
      setImmediate(() => sendNext(socket, index + 1));
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        binaryType: "uint8array",
        open: (socket) => sendNext(socket, 0),
        data: (_socket, chunk) => void received.push(chunk),
        end: (socket) => void socket.end(),
        close: () => {
          clearTimeout(timer);
          resolve(Buffer.concat(received).toString("latin1"));
        },
        error: (_socket, error) => reject(error),
      },
    }).catch(reject);
  });
}

describe("bench/redis/servers.ts", () => {
  for (const kind of ["hand", "naive", "bare"]) {
    test(`${kind}: pipelined commands in random pieces get exactly the engine's replies`, async () => {
      const child = Bun.spawn(["bun", SERVERS, kind], { stdout: "pipe", stderr: "inherit" });
      try {
        const first = await readLines(child.stdout).next();
        const port = Number(/:(\d+)$/.exec(first.value ?? "")?.[1]);
        expect(port).toBeGreaterThan(0);
        const random = seededRandom(7);
        const model = new Store(() => performance.now());
        let requests = "";
        let expected = "";
        for (let i = 0; i < 500; i++) {
          const key = `key:${Math.floor(random() * 20)}`;
          const args = [
            ["SET", key, `v${i}\r\n${"x".repeat(Math.floor(random() * 100))}`],
            ["GET", key],
            ["INCR", "counter"],
            ["MGET", key, "nothing"],
          ][Math.floor(random() * 4)] as string[];
          requests += encodeArray(args);
          expected += execute(args, model);
        }
        const bytes = Buffer.from(requests, "latin1");
        const pieces: Uint8Array[] = [];
        for (let at = 0; at < bytes.length; ) {
          const size = 1 + Math.floor(random() * 600);
          pieces.push(bytes.subarray(at, at + size));
          at += size;
        }
        expect(await converse(port, pieces)).toBe(expected);
      } finally {
        child.kill();
        await child.exited;
      }
    });
  }
});
