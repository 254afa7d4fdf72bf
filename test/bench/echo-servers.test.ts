/**
 * The TCP benchmarks' echo servers (`bench/tcp/echo-server.ts`) echo correctly, so that their
 * figures compare like with like: every byte back in order, the prompt after each echo in the
 * two-write shape, a 1 MiB burst (more than a socket takes in one write, so the drain paths
 * run) intact, and the answers to the suite's questions about CPU time and memory.
 */
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { EchoServer, type ServerKind } from "../../bench/tcp/processes.ts";

/** Connects to `port`, sends `data`, and resolves with what came back once `expected` bytes did. */
async function exchange(port: number, data: Uint8Array, expected: number): Promise<Uint8Array> {
  const received: Uint8Array[] = [];
  let size = 0;
  const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
  const timer = setTimeout(
    () => reject(new Error(`only ${size} of ${expected} bytes came back`)),
    10_000,
  );
  let unsent = data;
  const flush = (socket: Socket) => {
    const written = socket.write(unsent);
    if (written > 0) unsent = unsent.subarray(written);
  };
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      binaryType: "uint8array",
      data(_socket, chunk: Uint8Array) {
        received.push(chunk);
        size += chunk.length;
        if (size < expected) return;
        clearTimeout(timer);
        const all = new Uint8Array(size);
        let offset = 0;
        for (const part of received) {
          all.set(part, offset);
          offset += part.length;
        }
        resolve(all);
      },
      drain: flush,
      error: (_socket, error) => reject(error),
    },
  });
  flush(socket);
  try {
    return await promise;
  } finally {
    socket.end();
  }
}

const kinds: ServerKind[] = ["raw", "serve", "bare"];

describe("the TCP benchmark's echo servers", () => {
  for (const kind of kinds) {
    test(`${kind}: echoes a 1 MiB burst intact, and answers cpu/idle/peak`, async () => {
      const server = await EchoServer.start(kind, 1);
      try {
        const burst = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
        expect(await exchange(server.port, burst, burst.length)).toEqual(burst);
        expect(await server.cpu()).toBeGreaterThan(0);
        if (process.platform === "linux") {
          const idle = await server.idleBytes();
          expect(await server.peakBytes()).toBeGreaterThanOrEqual(idle * 0.5);
        }
      } finally {
        await server.stop();
      }
    });

    test(`${kind}, two writes: the prompt follows each echo`, async () => {
      const server = await EchoServer.start(kind, 2);
      try {
        const back = await exchange(server.port, new TextEncoder().encode("aaaa"), 7);
        expect(new TextDecoder().decode(back)).toBe("aaaa-> ");
      } finally {
        await server.stop();
      }
    });
  }
});
