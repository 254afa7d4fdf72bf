import { describe, expect, expectTypeOf, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  connect,
  currentTask,
  Event,
  Listener,
  listen,
  run,
  type SocketStream,
  serve,
  sleep,
  type Task,
  withPool,
} from "../../src/index.ts";
import { echo, LOCALHOST, pattern, readAll, tempDir, text } from "./helpers.ts";

const to = (port: number) => ({ hostname: "127.0.0.1", port });

describe("serve", () => {
  test(
    "100 concurrent clients get their random payloads echoed byte-exact",
    () =>
      run(async () => {
        await withPool(async (pool) => {
          const listener = await pool.start(serve, LOCALHOST, echo);
          await withPool(async (clients) => {
            for (let i = 0; i < 100; i++) {
              clients.spawn(async () => {
                const payload = pattern(1 + ((i * 7919) % 200_000), i);
                await using stream = await connect(to(listener.port));
                await withPool(async (both) => {
                  both.spawn(async () => {
                    await stream.sendAll(payload);
                    await stream.sendEof();
                  });
                  expect(await readAll(stream)).toEqual(payload);
                });
              });
            }
          });
          pool.cancel();
        });
      }),
    20000,
  );

  test(
    "each handler is a task named after the peer, and its stream is closed when it returns",
    () =>
      run(async () => {
        await withPool(async (pool) => {
          const listener = await pool.start(serve, LOCALHOST, async (stream) => {
            await stream.sendAll(`${currentTask().name}\n`);
          });
          await using client = await connect(to(listener.port));
          expect(text(await readAll(client))).toBe(`127.0.0.1:${client.localPort}\n`);
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "a handler's task keeps its peer's name after the connection is gone (the name is made when read)",
    () =>
      run(async () => {
        const ended = new Event();
        let handlerTask: Task | undefined;
        let handlerStream: SocketStream | undefined;
        await withPool(async (pool) => {
          const listener = await pool.start(serve, LOCALHOST, async (stream) => {
            handlerTask = currentTask();
            handlerStream = stream;
            try {
              await stream.receive();
            } finally {
              ended.set();
            }
          });
          const client = await connect(to(listener.port));
          const peer = `127.0.0.1:${client.localPort}`;
          await client.sendAll("x");
          await client.close();
          await ended.wait();
          pool.cancel();
          await checkpoint();
          expect(handlerTask?.done).toBe(true);
          expect(handlerTask?.name).toBe(peer);
          expect(handlerStream?.peer).toBe(peer);
          expect(String(handlerStream)).toBe(`SocketStream(${peer})`);
        });
      }),
    5000,
  );

  test(
    'onError "propagate": a handler error cancels the others and rejects the serve',
    () =>
      run(async () => {
        const cleanedUp: string[] = [];
        const listener = await listen(LOCALHOST);
        const error = await withPool(async (pool) => {
          const server = pool.spawn(() =>
            listener.serve(async (stream) => {
              try {
                const line = text(await stream.receiveUntil("\n"));
                if (line === "fail\n") throw new TypeError("handler failed");
                await stream.receive(); // the bystander waits here
              } finally {
                cleanedUp.push(stream.peer);
              }
            }),
          );
          await using bystander = await connect(to(listener.port));
          await bystander.sendAll("wait\n");
          await sleep(20);
          await using failing = await connect(to(listener.port));
          await failing.sendAll("fail\n");
          // The bystander's connection is closed because its handler was cancelled.
          expect((await bystander.receive()).length).toBe(0);
          return server.join().catch((e) => e);
        }).catch((e) => e);
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toBe("handler failed");
        expect(cleanedUp.length).toBe(2);
        expect(listener.closed).toBe(true);
      }),
    5000,
  );

  test(
    "an async onError callback can still talk to the peer before the connection closes",
    () =>
      run(async () => {
        await withPool(async (pool) => {
          const listener = await pool.start(
            serve,
            LOCALHOST,
            () => {
              throw new Error("bad request");
            },
            {
              onError: async (error, stream) => {
                await stream.sendAll(`error: ${(error as Error).message}\n`);
              },
            },
          );
          await using client = await connect(to(listener.port));
          expect(text(await readAll(client))).toBe("error: bad request\n");
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "onError callback: logs, closes that connection, keeps serving",
    () =>
      run(async () => {
        const logged: [string, string][] = [];
        await withPool(async (pool) => {
          const listener = await pool.start(
            serve,
            LOCALHOST,
            async (stream) => {
              const line = text(await stream.receiveUntil("\n"));
              if (line === "boom\n") throw new Error("boom");
              await stream.sendAll(`ok ${line}`);
            },
            { onError: (error, stream) => logged.push([(error as Error).message, stream.peer]) },
          );
          const bad = await connect(to(listener.port));
          await bad.sendAll("boom\n");
          expect((await bad.receive()).length).toBe(0); // that connection was closed
          expect(logged).toEqual([["boom", `127.0.0.1:${bad.localPort}`]]);
          await bad.close();
          await using good = await connect(to(listener.port));
          await good.sendAll("hello\n");
          expect(text(await readAll(good))).toBe("ok hello\n");
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "a plain (not async) handler: its synchronous throw reaches onError, its return closes the stream",
    () =>
      run(async () => {
        const logged: string[] = [];
        let served = 0;
        await withPool(async (pool) => {
          const listener = await pool.start(
            serve,
            LOCALHOST,
            (stream) => {
              if (served++ === 0) throw new Error("thrown at once");
              // Queued, not awaited: the close waits for it to be written.
              void stream.sendAll("bye\n");
              return 42;
            },
            { onError: (error) => void logged.push((error as Error).message) },
          );
          const first = await connect(to(listener.port));
          expect((await first.receive()).length).toBe(0);
          expect(logged).toEqual(["thrown at once"]);
          await first.close();
          await using second = await connect(to(listener.port));
          expect(text(await readAll(second))).toBe("bye\n");
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "an onError callback that throws crashes the server with that error",
    () =>
      run(async () => {
        const listener = await listen(LOCALHOST);
        const error = await withPool(async (pool) => {
          const server = pool.spawn(() =>
            listener.serve(
              () => {
                throw new Error("handler");
              },
              {
                onError: () => {
                  throw new RangeError("from onError");
                },
              },
            ),
          );
          await using _client = await connect(to(listener.port));
          return server.join().catch((e) => e);
        }).catch((e) => e);
        expect(error).toBeInstanceOf(RangeError);
        expect(error.message).toBe("from onError");
      }),
    5000,
  );

  test(
    "maxConnections: extra connections are closed at once and counted",
    () =>
      run(async () => {
        await withPool(async (pool) => {
          const listener = await pool.start(
            serve,
            LOCALHOST,
            async (stream) => {
              await stream.sendAll("welcome\n");
              await stream.receive();
            },
            { maxConnections: 2 },
          );
          const a = await connect(to(listener.port));
          const b = await connect(to(listener.port));
          expect(text(await a.receiveUntil("\n"))).toBe("welcome\n");
          expect(text(await b.receiveUntil("\n"))).toBe("welcome\n");
          const c = await connect(to(listener.port));
          expect((await c.receive()).length).toBe(0);
          expect(listener.refusedConnections).toBe(1);
          await a.close(); // frees a slot
          await sleep(20);
          const d = await connect(to(listener.port));
          expect(text(await d.receiveUntil("\n"))).toBe("welcome\n");
          for (const s of [b, c, d]) await s.close();
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "cancelling the serving pool cancels every handler, runs finally blocks, closes every socket and the listener",
    () =>
      run(async () => {
        const finallyRan: string[] = [];
        const listener = await listen(LOCALHOST);
        const clients: SocketStream[] = [];
        await withPool(async (pool) => {
          pool.spawn(() =>
            listener.serve(async (stream) => {
              try {
                await stream.sendAll("hi\n");
                await stream.receive();
              } catch (error) {
                expect(error).toBeInstanceOf(CancelledError);
                throw error;
              } finally {
                finallyRan.push(stream.peer);
              }
            }),
          );
          for (let i = 0; i < 5; i++) {
            const client = await connect(to(listener.port));
            expect(text(await client.receiveUntil("\n"))).toBe("hi\n");
            clients.push(client);
          }
          pool.cancel();
        });
        expect(finallyRan.length).toBe(5);
        for (const client of clients) {
          expect((await client.receive()).length).toBe(0);
          await client.close();
        }
        expect(listener.closed).toBe(true);
        const refused = await connect(to(listener.port)).catch((e) => e);
        expect(refused.code).toBe("ECONNREFUSED");
      }),
    5000,
  );

  test(
    "closing the listener from another task stops accepting; serve resolves after its handlers finish",
    () =>
      run(async () => {
        const listener = await listen(LOCALHOST);
        let handlerDone = false;
        await withPool(async (pool) => {
          const server = pool.spawn(() =>
            listener.serve(async (stream) => {
              await stream.receiveUntil("\n");
              await sleep(30);
              await stream.sendAll("done\n");
              handlerDone = true;
            }),
          );
          const client = await connect(to(listener.port));
          await client.sendAll("go\n");
          await sleep(10);
          await listener.close();
          await server.join();
          expect(handlerDone).toBe(true);
          expect(text(await readAll(client))).toBe("done\n");
          await client.close();
        });
      }),
    5000,
  );

  test("serve() listens and serves in one call (here on a unix socket, started with pool.start)", async () => {
    const dir = tempDir("giambio-serve-");
    try {
      await run(async () => {
        const path = `${dir.path}/echo.sock`;
        await withPool(async (pool) => {
          await pool.start(serve, { unix: path }, echo);
          await using client = await connect({ unix: path });
          await client.sendAll("over unix");
          expect(text(await client.receiveExactly(9))).toBe("over unix");
          pool.cancel();
        });
      });
    } finally {
      dir.remove();
    }
  }, 5000);

  test(
    "bad serve arguments are rejected before anything is opened",
    () =>
      run(async () => {
        await using listener = await listen(LOCALHOST);
        await expect(listener.serve("nope" as never)).rejects.toThrow(
          /serve\(handler\) must be a function, got "nope"/,
        );
        await expect(listener.serve(echo, { maxConnections: 0 })).rejects.toThrow(
          /maxConnections.*got 0/,
        );
        await expect(listener.serve(echo, { onError: "ignore" as never })).rejects.toThrow(
          /onError.*got "ignore"/,
        );
        expect(listener.closed).toBe(false);
        await expect(serve({ hostname: "127.0.0.1", port: 0 }, 42 as never)).rejects.toBeInstanceOf(
          TypeError,
        );
      }),
    5000,
  );
});

describe("pool.start(serve, ...)", () => {
  test(
    "port 0: start resolves with the bound Listener, its real port, and connections are served",
    () =>
      run(async () => {
        await withPool(async (pool) => {
          const listener: Listener = await pool.start(serve, LOCALHOST, echo, {
            maxConnections: 10,
          });
          expectTypeOf(listener).toEqualTypeOf<Listener>();
          expectTypeOf(listener.port).toBeNumber();
          expect(listener).toBeInstanceOf(Listener);
          expect(listener.closed).toBe(false);
          expect(listener.port).toBeGreaterThan(0);
          expect(listener.address).toBe(`127.0.0.1:${listener.port}`);
          expect(pool.tasks.map((task) => task.name)).toEqual(["serve"]);
          await using client = await connect(to(listener.port));
          await client.sendAll("ping");
          expect(text(await client.receiveExactly(4))).toBe("ping");
          pool.cancel();
        });
      }),
    5000,
  );

  test(
    "a listen failure (port in use) rejects start with that error; the pool is not failed",
    () =>
      run(async () => {
        await using taken = await listen(LOCALHOST);
        const outcome = await withPool(async (pool) => {
          const error = await pool
            .start(serve, { hostname: "127.0.0.1", port: taken.port }, echo)
            .catch((e) => e);
          expect(error.code).toBe("EADDRINUSE");
          expect(error.message).toBe(
            `listen on 127.0.0.1:${taken.port} failed: address already in use (EADDRINUSE)`,
          );
          expect(pool.tasks.length).toBe(0);
          return "the pool went on";
        });
        expect(outcome).toBe("the pool went on");
        expect(taken.closed).toBe(false);
      }),
    5000,
  );

  test(
    "bad serve arguments reject start before anything is opened",
    () =>
      run(async () => {
        await withPool(async (pool) => {
          // @ts-expect-error the handler is missing
          const missing = await pool.start(serve, LOCALHOST).catch((e) => e);
          expect(missing).toBeInstanceOf(TypeError);
          expect(missing.message).toMatch(/serve\(handler\) must be a function, got undefined/);
          const unknownKey = await pool
            // @ts-expect-error not a serve option
            .start(serve, LOCALHOST, echo, { maxConnection: 2 })
            .catch((e) => e);
          expect(unknownKey).toBeInstanceOf(TypeError);
          expect(unknownKey.message).toMatch(/maxConnection/);
          expect(pool.tasks.length).toBe(0);
        });
      }),
    5000,
  );

  test(
    "cancelling the pool stops the serve: handlers cancelled, connections and the listener closed",
    () =>
      run(async () => {
        const finallyRan: string[] = [];
        let listener: Listener | undefined;
        let client: SocketStream | undefined;
        await withPool(async (pool) => {
          listener = await pool.start(serve, LOCALHOST, async (stream) => {
            try {
              await stream.sendAll("hi\n");
              await stream.receive();
            } finally {
              finallyRan.push(stream.peer);
            }
          });
          client = await connect(to(listener.port));
          expect(text(await client.receiveUntil("\n"))).toBe("hi\n");
          pool.cancel();
        });
        expect(finallyRan).toEqual([`127.0.0.1:${client?.localPort}`]);
        expect((await client?.receive())?.length).toBe(0);
        await client?.close();
        expect(listener?.closed).toBe(true);
        const refused = await connect(to(listener?.port ?? 0)).catch((e) => e);
        expect(refused.code).toBe("ECONNREFUSED");
      }),
    5000,
  );

  test(
    "once start resolves the serve belongs to the pool: cancelling the starter does not stop it",
    () =>
      run(async () => {
        await withPool(async (servers) => {
          let listener: Listener | undefined;
          await withPool(async (starter) => {
            listener = await servers.start(serve, LOCALHOST, echo);
            starter.cancel();
            await sleep(1_000); // cancelled at once
          });
          await using client = await connect(to(listener?.port ?? 0));
          await client.sendAll("still serving");
          expect(text(await client.receiveExactly(13))).toBe("still serving");
          servers.cancel();
        });
      }),
    5000,
  );

  test(
    "a starter cancelled before it waits gets CancelledError and nothing is started",
    () =>
      run(async () => {
        await withPool(async (servers) => {
          const error = await withPool(async (starter) => {
            starter.cancel();
            return servers.start(serve, LOCALHOST, echo).catch((e) => e);
          });
          expect(error).toBeInstanceOf(CancelledError);
          expect(servers.tasks.length).toBe(0);
        });
      }),
    5000,
  );
});
