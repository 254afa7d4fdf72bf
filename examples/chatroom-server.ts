/**
 * giambio's chatroom server, on giambio for Bun.
 *
 *   bun examples/chatroom-server.ts      # HOST (default localhost), PORT (default 1501; 0 = any)
 *   bun examples/chatroom-client.ts      # or: nc -N localhost 1501
 *
 * A client picks a name (taken names are refused), everyone else is told it joined, and
 * each line it sends is relayed to the others as "[NAME] (ip:port): line". When it leaves,
 * the others are told, and nothing else is disturbed: each connection's errors stay with it
 * (`onError` logs them), unlike in giambio, where a client leaving crashed the server.
 *
 * Only one task may send on a stream at a time, so each client has an outbox (a memory
 * channel) and a task that delivers it; the others post to it without waiting. A client too
 * slow to keep up with its outbox misses messages rather than stalling the room.
 */
import {
  IncompleteReadError,
  KeyboardInterrupt,
  listen,
  openMemoryChannel,
  type ReceiveChannel,
  run,
  type SendChannel,
  type SocketStream,
  WouldBlock,
  withPool,
} from "../src/index.ts";

/** Messages a client may have waiting before it misses some. */
const OUTBOX_CAPACITY = 256;

interface Client {
  /** Empty until the client has chosen one. */
  name: string;
  readonly address: string;
  readonly outbox: SendChannel<string>;
}

const clients = new Set<Client>();
const names = new Set<string>();
const decoder = new TextDecoder();

async function handler(stream: SocketStream): Promise<void> {
  const [outbox, pending] = openMemoryChannel<string>(OUTBOX_CAPACITY);
  const client: Client = { name: "", address: stream.peer, outbox };
  log("INFO", `${client.address} connected`);
  clients.add(client);
  try {
    await withPool(async (pool) => {
      pool.spawn(deliver, stream, pending);
      try {
        await chat(stream, client);
      } finally {
        leave(client);
        outbox.close(); // nobody posts to it any more; `deliver` sends what is left, then ends
      }
    });
  } finally {
    log("INFO", `Connection from ${client.address} closed`);
  }
}

/** Takes `client` out of the room (before its outbox closes) and tells the others. */
function leave(client: Client): void {
  clients.delete(client);
  if (client.name === "") return;
  names.delete(client.name);
  broadcast(client, `${client.name} has left the chatroom!\n> `);
}

/** The only task that sends on `stream`: it delivers the client's outbox in order. */
async function deliver(stream: SocketStream, pending: ReceiveChannel<string>): Promise<void> {
  for await (const message of pending) await stream.sendAll(message);
}

async function chat(stream: SocketStream, client: Client): Promise<void> {
  await client.outbox.send("Welcome to the chatroom pal, may you tell me your name?\n> ");
  for (;;) {
    const line = await receiveLine(stream, 64);
    if (line === null) return; // gone before choosing a name
    const name = line.trim();
    if (name === "") {
      await client.outbox.send("> ");
    } else if (names.has(name)) {
      await client.outbox.send("Sorry, but that name is already taken. Try again!\n> ");
    } else {
      names.add(name);
      client.name = name;
      break;
    }
  }
  await client.outbox.send(`Okay ${client.name}, welcome to the chatroom!\n`);
  log("INFO", `${client.name} has joined the chatroom (${client.address}), informing clients`);
  broadcast(client, `${client.name} joins the chatroom!\n> `);
  for (;;) {
    await client.outbox.send("> ");
    const line = await receiveLine(stream, 1024);
    if (line === null) return;
    log("INFO", `Got: ${JSON.stringify(line)} from ${client.address}`);
    const sent = broadcast(client, `[${client.name}] (${client.address}): ${line}> `);
    log("INFO", `Sent ${JSON.stringify(line)} to ${sent} clients`);
  }
}

/** The next line (with its "\n"), or null once the client has stopped sending. */
async function receiveLine(stream: SocketStream, maxBytes: number): Promise<string | null> {
  try {
    return decoder.decode(await stream.receiveUntil("\n", maxBytes));
  } catch (error) {
    if (error instanceof IncompleteReadError) return null;
    throw error;
  }
}

/** Posts `message` to every other client that has a name; returns how many got it. */
function broadcast(from: Client, message: string): number {
  let sent = 0;
  for (const other of clients) {
    if (other === from || other.name === "") continue;
    try {
      other.outbox.trySend(message);
      sent++;
    } catch (error) {
      if (!(error instanceof WouldBlock)) throw error;
      log("INFO", `${other.name} (${other.address}) is not keeping up: message dropped`);
    }
  }
  return sent;
}

async function serveChatroom(host: string, port: number): Promise<void> {
  const listener = await listen({ hostname: host, port });
  log("INFO", `Serving asynchronously at ${host}:${listener.port}`);
  await listener.serve(handler, {
    // One client's trouble is logged and ends that connection only.
    onError: (error, stream) => {
      const name = error instanceof Error ? error.name : typeof error;
      log("INFO", `${stream.peer} has raised ${name}: ${(error as Error)?.message ?? error}`);
    },
  });
}

/** Python's logging format: `[INFO] 22/04/2021 PM message`, on stderr. */
function log(level: "INFO" | "ERROR", message: string): void {
  const now = new Date();
  const date = [now.getDate(), now.getMonth() + 1].map((n) => String(n).padStart(2, "0"));
  const meridiem = now.getHours() < 12 ? "AM" : "PM";
  console.error(`[${level}] ${date.join("/")}/${now.getFullYear()} ${meridiem} ${message}`);
}

const host = process.env["HOST"] ?? "localhost";
const port = Number(process.env["PORT"] ?? 1501);
try {
  await run(serveChatroom, host, port);
} catch (error) {
  if (error instanceof KeyboardInterrupt) {
    log("INFO", "Ctrl+C detected, exiting");
  } else {
    const name = error instanceof Error ? error.name : typeof error;
    log("ERROR", `Exiting due to a ${name}: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
  }
}
