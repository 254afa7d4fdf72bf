/**
 * PROXY protocol through a real HAProxy (`mode tcp`, `send-proxy` and `send-proxy-v2`) in
 * front of two giambio listeners on loopback. The client binds 127.0.0.5, so the handler
 * must see that address and the client's own port, not HAProxy's. Both instances serve, and
 * closing one listener (no new connections, the accepted ones finish) or a SIGTERM drain of
 * an instance in its own process loses no request: HAProxy redispatches to the other.
 *
 * HAProxy runs under `runProcess`, so the test's pool stops it (SIGTERM) however it ends.
 * Without haproxy the tests fail when CI is set and are skipped otherwise.
 */
import { expect, describe as group, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import {
  type Listener,
  listen,
  type Pool,
  run,
  runProcess,
  type SocketStream,
  sleep,
  until,
  withPool,
} from "../../src/index.ts";
import { readLines } from "../support/read-lines.ts";
import { tempDir } from "./helpers.ts";

const HAPROXY =
  Bun.which("haproxy") ?? (existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : null);
if (HAPROXY === null) {
  const { CI } = process.env;
  if (CI) throw new Error("haproxy is not installed: the PROXY protocol tests need it in CI");
  console.warn(
    "haproxy not found: skipping the HAProxy tests (install the Debian package haproxy)",
  );
}

const CLIENT_ADDRESS = "127.0.0.5";

/** Requests inside a handler right now, over both instances. */
let inHandlers = 0;

/** Replies `<instance> <remoteAddress> <remotePort>` after a line, `delay` ms later. */
function instance(name: string, delay = 0) {
  return async (stream: SocketStream) => {
    await stream.receiveUntil("\n");
    inHandlers++;
    try {
      if (delay > 0) await sleep(delay);
      await stream.sendAll(`${name} ${stream.remoteAddress} ${stream.remotePort}\n`);
    } finally {
      inHandlers--;
    }
  };
}

/** A port nobody uses right now (bound once and released: HAProxy binds it next). */
async function freePort(): Promise<number> {
  const probe = await listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.port;
  await probe.close();
  return port;
}

/** One request from 127.0.0.5: the reply and the client's own port. */
function request(port: number): Promise<{ reply: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    let got = "";
    const socket = netConnect({ host: "127.0.0.1", port, localAddress: CLIENT_ADDRESS }, () => {
      socket.write("hello\n");
    });
    socket.on("data", (data) => {
      got += data.toString();
      if (got.endsWith("\n")) {
        const localPort = socket.localPort as number;
        socket.end();
        resolve({ reply: got.trim(), localPort });
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
  });
}

/** Retries a request until HAProxy listens and answers (bounded). */
async function firstRequest(port: number) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await until(request(port));
    } catch (error) {
      if (attempt > 100) throw error;
      await sleep(50);
    }
  }
}

/**
 * Starts two giambio instances (PROXY protocol, trusting only loopback's 127.0.0.1, where
 * HAProxy connects from) and HAProxy in front with `sendProxy` ("send-proxy" or
 * "send-proxy-v2"); runs `body` with HAProxy's port and the listeners, then stops it all.
 * `otherPorts`: instances already running elsewhere (another process), put first in the
 * backend in place of as many in-process ones.
 */
function withHaproxy(
  sendProxy: string,
  delay: number,
  body: (port: number, instances: Listener[], pool: Pool) => Promise<void>,
  otherPorts: readonly number[] = [],
): Promise<void> {
  const dir = tempDir("giambio-haproxy-");
  return run(() =>
    withPool(async (pool) => {
      const instances: Listener[] = [];
      for (const name of ["a", "b"].slice(otherPorts.length)) {
        const listener = await listen({
          hostname: "127.0.0.1",
          port: 0,
          proxyProtocol: { trusted: ["127.0.0.1"] },
        });
        pool.spawn(() => listener.serve(instance(name, delay)));
        instances.push(listener);
      }
      const port = await freePort();
      const config = `${dir.path}/haproxy.cfg`;
      const ports = [...otherPorts, ...instances.map((l) => l.port)];
      writeFileSync(
        config,
        [
          "global",
          "  maxconn 512",
          "defaults",
          "  mode tcp",
          "  timeout connect 2s",
          "  timeout client 10s",
          "  timeout server 10s",
          "  retries 3",
          "  option redispatch 1",
          "frontend front",
          `  bind 127.0.0.1:${port}`,
          "  default_backend giambio",
          "backend giambio",
          "  balance roundrobin",
          ...ports.map((p, i) => `  server ${"ab"[i]} 127.0.0.1:${p} ${sendProxy}`),
          "",
        ].join("\n"),
      );
      pool.spawn(() =>
        runProcess([HAPROXY as string, "-db", "-f", config], {
          stdout: "ignore",
          stderr: "capture",
        }),
      );
      try {
        await body(port, instances, pool);
      } finally {
        pool.cancel();
      }
    }),
  ).finally(() => dir.remove());
}

group.if(HAPROXY !== null)("through HAProxy", () => {
  for (const sendProxy of ["send-proxy", "send-proxy-v2"]) {
    test(`${sendProxy}: the handler sees the client's own address and port; both instances serve`, () =>
      withHaproxy(sendProxy, 0, async (port) => {
        const first = await firstRequest(port);
        const seen = new Set<string>();
        for (const { reply, localPort } of [
          first,
          ...(await until(Promise.all([1, 2, 3, 4, 5].map(() => request(port))))),
        ]) {
          const [name, address, remotePort] = reply.split(" ");
          expect(address).toBe(CLIENT_ADDRESS);
          expect(Number(remotePort)).toBe(localPort);
          seen.add(name as string);
        }
        expect([...seen].sort()).toEqual(["a", "b"]);
      }));
  }

  test("closing one instance while requests are in flight loses none", () =>
    withHaproxy("send-proxy-v2", 400, async (port, instances) => {
      await firstRequest(port);
      const requests = Promise.all(Array.from({ length: 20 }, () => request(port)));
      // Every request is in a handler of one instance or the other. (A connection still in
      // the kernel's accept queue when a listener closes is reset, not retried: a balancer
      // must stop sending before a server stops listening; see the README's Deploying.)
      for (let waited = 0; inHandlers < 20; waited += 5) {
        if (waited > 10_000) throw new Error(`only ${inHandlers} of 20 requests reached a handler`);
        await sleep(5);
      }
      await (instances[0] as Listener).close(); // a: no new connections; the accepted finish
      const replies = await until(requests);
      expect(replies.length).toBe(20);
      for (const { reply } of replies) expect(reply).toMatch(/^[ab] 127\.0\.0\.5 \d+$/);
      expect(replies.some(({ reply }) => reply.startsWith("a "))).toBe(true);
      // Afterwards every request goes to b.
      const after = await until(Promise.all([1, 2, 3, 4].map(() => request(port))));
      for (const { reply } of after) expect(reply.startsWith("b ")).toBe(true);
    }));

  test("SIGTERM drains one instance (its own process) while requests are in flight: none lost", async () => {
    const fixture = new URL("./fixtures/proxy-instance.ts", import.meta.url).pathname;
    const child = Bun.spawn(["bun", fixture, "a", "400"], { stdout: "pipe", stderr: "inherit" });
    const lines = readLines(child.stdout);
    try {
      const first = (await lines.next()).value as string;
      const otherPort = Number(/^listening (\d+)$/.exec(first)?.[1]);
      let inOther = 0;
      const counted = (async () => {
        for await (const line of lines) {
          if (line === "request") inOther++;
          else return line;
        }
        return "(no more output)";
      })();
      await withHaproxy(
        "send-proxy-v2",
        400,
        async (port) => {
          await firstRequest(port);
          const requests = Promise.all(Array.from({ length: 20 }, () => request(port)));
          for (let waited = 0; inHandlers + inOther < 20; waited += 5) {
            if (waited > 10_000)
              throw new Error(`only ${inHandlers + inOther} of 20 reached a handler`);
            await sleep(5);
          }
          expect(inOther).toBeGreaterThan(0); // a has requests in flight when it is told to drain
          child.kill("SIGTERM");
          const replies = await until(requests);
          expect(replies.length).toBe(20);
          for (const { reply } of replies) expect(reply).toMatch(/^[ab] 127\.0\.0\.5 \d+$/);
          expect(await until(counted)).toBe("drained");
          expect(await until(child.exited)).toBe(0);
          const after = await until(Promise.all([1, 2, 3, 4].map(() => request(port))));
          for (const { reply } of after) expect(reply.startsWith("b ")).toBe(true);
        },
        [otherPort],
      );
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("a connection straight to an instance with a forged header is refused", () =>
    withHaproxy("send-proxy", 0, async (_port, instances) => {
      const listener = instances[0] as Listener;
      // From 127.0.0.5, which is not HAProxy's address: refused, whatever the header says.
      const refused = await until(
        new Promise<string>((resolve) => {
          let got = "";
          const socket = netConnect(
            { host: "127.0.0.1", port: listener.port, localAddress: CLIENT_ADDRESS },
            () => socket.write("PROXY TCP4 127.0.0.1 127.0.0.1 1 2\r\nhello\n"),
          );
          socket.on("data", (data) => {
            got += data.toString();
          });
          socket.on("error", () => resolve(got));
          socket.on("close", () => resolve(got));
        }),
      );
      expect(refused).toBe("");
      expect(listener.proxyHeaderErrors).toBe(1);
    }));
});
