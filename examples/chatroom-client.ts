/**
 * A client for examples/chatroom-server.ts: what you type goes to the room, what the room
 * says is printed.
 *
 *   bun examples/chatroom-client.ts      # HOST (default localhost), PORT (default 1501)
 *
 * Two things happen at once, so they are two tasks: one reads the keyboard line by line
 * (`stdinLines()`, a cancellable read) and sends each line, the other prints what arrives.
 * End of input (Ctrl+D) half-closes the connection and the client waits for the server to
 * finish; the server closing the connection cancels the keyboard read and ends the client.
 * Ctrl+C ends it quietly with status 130.
 */
import { connect, KeyboardInterrupt, run, stdinLines, withPool } from "../src/index.ts";

async function chat(hostname: string, port: number): Promise<void> {
  await using stream = await connect({ hostname, port });
  await withPool(async (pool) => {
    pool.spawn(async () => {
      for await (const chunk of stream) process.stdout.write(chunk);
      pool.cancel(); // the server closed the connection: stop reading the keyboard
    });
    for await (const line of stdinLines()) {
      if (line !== "") await stream.sendAll(`${line}\n`);
    }
    await stream.sendEof();
  });
}

const host = process.env["HOST"] ?? "localhost";
const port = Number(process.env["PORT"] ?? 1501);
try {
  await run(chat, host, port);
  console.log("\nDisconnected");
} catch (error) {
  if (error instanceof KeyboardInterrupt) {
    process.exitCode = 130; // interrupted, as the shell reports it; no stack trace
  } else {
    console.error(`Exiting due to a ${(error as Error).name}: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
