/**
 * The TCP echo load generator, in its own process so that its work is not charged to the
 * server:
 *
 *   bun bench/tcp/loadgen.ts <port> <connections> <messageBytes> <inFlight> <warmupMs> <durationMs> [prompted]
 *
 * Opens the connections to 127.0.0.1:<port>, then each keeps <inFlight> messages of
 * <messageBytes> outstanding: a new message goes out each time a whole message's worth of
 * bytes has come back. Prints `start` when the warm-up ends and `done <messages> <ms>` when
 * the measured window ends (messages echoed in it, its length); the connections stay open
 * (the load goes on) until its stdin ends — at once when it has none — so that what the
 * caller measures then is not mixed with their closing; then it closes them and exits. Plain Bun
 * sockets with drain handling, to keep the generator itself cheap. With `prompted` (1), the
 * server adds its own bytes (a prompt) to the echo: only the load's byte (0x61) is counted.
 */
import type { Socket, SocketHandler } from "bun";

const [port, connections, messageBytes, inFlight, warmupMs, durationMs, prompted] = process.argv
  .slice(2)
  .map(Number) as [number, number, number, number, number, number, number | undefined];
const LOAD_BYTE = 0x61;
if (!(port > 0 && connections > 0 && messageBytes > 0 && inFlight > 0)) {
  console.error(
    "usage: loadgen.ts <port> <connections> <messageBytes> <inFlight> <warmupMs> <durationMs>",
  );
  process.exit(2);
}

/** Enough bytes for every message one write may need to send at once. */
const outgoing = new Uint8Array(messageBytes * inFlight).fill(LOAD_BYTE);
let echoedBytes = 0;

interface Client {
  /** Bytes received not yet counted as a whole message. */
  partial: number;
  /** Bytes still to write (the socket took only part of a write). */
  owed: number;
}

function send(socket: Socket<Client>, bytes: number): void {
  const client = socket.data;
  client.owed += bytes;
  while (client.owed > 0) {
    const n = Math.min(client.owed, outgoing.length);
    const written = socket.write(outgoing, 0, n);
    if (written <= 0) return;
    client.owed -= written;
    if (written < n) return; // the rest goes out on drain
  }
}

const handler: SocketHandler<Client> = {
  open(socket) {
    socket.data = { partial: 0, owed: 0 };
    socket.setNoDelay(true);
  },
  data(socket, chunk) {
    let echoed = chunk.length;
    if (prompted === 1) {
      echoed = 0;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === LOAD_BYTE) echoed++;
    }
    echoedBytes += echoed;
    const client = socket.data;
    client.partial += echoed;
    const messages = Math.floor(client.partial / messageBytes);
    if (messages > 0) {
      client.partial -= messages * messageBytes;
      send(socket, messages * messageBytes);
    }
  },
  drain(socket) {
    send(socket, 0);
  },
};

/**
 * Connections opened at once: a few hundred keep the connect phase short without overflowing
 * the server's accept backlog (a dropped SYN is retried only after a second).
 */
const CONNECT_BATCH = 256;
const sockets: Socket<Client>[] = [];
while (sockets.length < connections) {
  const batch = Math.min(CONNECT_BATCH, connections - sockets.length);
  sockets.push(
    ...(await Promise.all(
      Array.from({ length: batch }, () =>
        Bun.connect<Client>({ hostname: "127.0.0.1", port, socket: handler }),
      ),
    )),
  );
}
// Traffic starts once every connection is open: a server busy echoing would slow the
// connecting of the rest.
for (const socket of sockets) send(socket, messageBytes * inFlight);
await Bun.sleep(warmupMs);
const startBytes = echoedBytes;
const started = performance.now();
console.log("start");
await Bun.sleep(durationMs);
const messages = (echoedBytes - startBytes) / messageBytes;
console.log(`done ${messages} ${performance.now() - started}`);
for await (const _ of Bun.stdin.stream()) {
  // nothing is read: the end of stdin is the signal
}
for (const socket of sockets) socket.end();
process.exit(0);
