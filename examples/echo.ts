/**
 * giambio's echo server (its README, "An echo server"), on giambio for Bun.
 *
 *   bun examples/echo.ts        # HOST (default localhost), PORT (default 1500; 0 = any free port)
 *   nc -N localhost 1500      # -N: exit when the server closes the connection
 *
 * Each client is greeted, prompted with "-> ", and answered "Got: " + what it sent; every
 * step is logged the way Python's logging module would. Sending "exit" makes the handler
 * throw: the error leaves the pool, cancels every other connection and ends the server
 * with a non-zero exit status (errors are never lost). Ctrl+C ends it cleanly. SIGTERM (what
 * Docker and Kubernetes send) drains it: no new connections, idle ones closed at once, a
 * request in flight answered, then exit 0; a second SIGTERM ends it at once (status 143).
 */
import { KeyboardInterrupt, listen, run, type SocketStream, Terminated } from "../src/index.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function handler(stream: SocketStream): Promise<void> {
  const address = stream.peer;
  log("INFO", `${address} connected`);
  await stream.sendAll("Welcome to the server pal, feel free to send me something!\n");
  for (;;) {
    await stream.sendAll("-> ");
    const data = await stream.receive(1024);
    if (data.length === 0) break;
    if (decoder.decode(data) === "exit\n") {
      await stream.sendAll("Shutting down the server\n");
      throw new Error(); // This kills the entire application!
    }
    log("INFO", `Got: ${pythonRepr(data)} from ${address}`);
    await stream.sendAll(concat(encoder.encode("Got: "), data));
    log("INFO", `Echoed back ${pythonRepr(data)} to ${address}`);
  }
  log("INFO", `Connection from ${address} closed`);
}

async function serveEcho(host: string, port: number): Promise<void> {
  const listener = await listen({ hostname: host, port });
  log("INFO", `Serving asynchronously at ${host}:${listener.port}`);
  // Each connection runs `handler` in the listener's pool; the stream is closed when it ends.
  await listener.serve(handler);
  // serve() resolves only after a graceful shutdown (SIGTERM) has drained every connection.
  log("INFO", "Drained after SIGTERM, exiting");
}

/** Python's logging format: `[INFO] 22/04/2021 PM message`, on stderr. */
function log(level: "INFO" | "ERROR", message: string): void {
  const now = new Date();
  const date = [now.getDate(), now.getMonth() + 1].map((n) => String(n).padStart(2, "0"));
  const meridiem = now.getHours() < 12 ? "AM" : "PM";
  console.error(`[${level}] ${date.join("/")}/${now.getFullYear()} ${meridiem} ${message}`);
}

/** Bytes as Python prints them: `b'hi\n'`. */
function pythonRepr(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = "";
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    if (char === "\\" || char === quote) out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (byte < 0x20 || byte >= 0x7f) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return `b${quote}${out}${quote}`;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const host = process.env["HOST"] ?? "localhost";
const port = Number(process.env["PORT"] ?? 1500);
try {
  await run(serveEcho, host, port);
} catch (error) {
  // Errors propagate!
  if (error instanceof KeyboardInterrupt) {
    log("INFO", "Ctrl+C detected, exiting");
  } else if (error instanceof Terminated) {
    log("INFO", "SIGTERM again during the drain, exiting at once");
    process.exitCode = 143;
  } else {
    const name = error instanceof Error ? error.name : typeof error;
    log("ERROR", `Exiting due to a ${name}: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
  }
}
