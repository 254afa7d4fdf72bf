/**
 * Framing reads on data that is already buffered (issue 10.1): `receiveExactly`,
 * `receiveUntil` and `frames(new LinesDecoder())` over one received chunk holding many
 * frames, against the cheapest hand-written equivalent — a search and a `subarray` (and for
 * lines a UTF-8 decode) behind an already-resolved promise, awaited the same way. The ratio
 * is what a framing call costs beyond the work itself: the cancellation check, the busy and
 * closed checks, the backpressure bookkeeping.
 *
 * The stream is a real `SocketStream` over a stand-in socket (no I/O), fed through the same
 * `data` callback Bun calls, so the file also runs against older versions of the stream.
 */
import { run } from "../src/index.ts";
import { openSocketStream, SocketStream } from "../src/net/stream.ts";
import { SOCKET_CALLBACKS } from "../src/net/transport-symbols.ts";
import { compare, type Row, type Suite, type SuiteOptions } from "./harness.ts";
import { StandInSocket } from "./in-process-model.ts";

/** Just enough of a Bun socket for a stream that only receives. */
class ReceivingSocket extends StandInSocket {
  override write(bytes: Uint8Array): number {
    return bytes.length;
  }
}

function streamWith(chunk: Uint8Array<ArrayBuffer>): SocketStream {
  const socket = new ReceivingSocket(1, 2);
  const stream = openSocketStream(socket as never, null);
  socket.data = stream;
  SocketStream[SOCKET_CALLBACKS].data(socket as never, chunk);
  return stream;
}

const FRAME = 16;
const encoder = new TextEncoder();
const utf8 = new TextDecoder();

/** `count` lines of 14 characters + "\r\n" (16 bytes each), in one chunk. */
function linesChunk(count: number): Uint8Array<ArrayBuffer> {
  return encoder.encode("line of text..\r\n".repeat(count));
}

/** The hand-written reader: an offset into one array, answers behind resolved promises. */
class HandWritten {
  #bytes: Uint8Array;
  #offset = 0;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  exactly(n: number): Promise<Uint8Array> {
    const start = this.#offset;
    this.#offset = start + n;
    return Promise.resolve(this.#bytes.subarray(start, start + n));
  }
  untilCrLf(): Promise<Uint8Array> {
    const bytes = this.#bytes;
    const start = this.#offset;
    let at = bytes.indexOf(13, start);
    while (bytes[at + 1] !== 10) at = bytes.indexOf(13, at + 1);
    this.#offset = at + 2;
    return Promise.resolve(bytes.subarray(start, at + 2));
  }
  line(): Promise<string> {
    const bytes = this.#bytes;
    const start = this.#offset;
    const newline = bytes.indexOf(10, start);
    this.#offset = newline + 1;
    const end = bytes[newline - 1] === 13 ? newline - 1 : newline;
    return Promise.resolve(utf8.decode(bytes.subarray(start, end)));
  }
}

export const suite: Suite = {
  name: "framing",
  async run(options: SuiteOptions): Promise<Row[]> {
    const count = options.quick ? 1_000 : 10_000;
    const chunk = linesChunk(count);
    const rows: Row[] = [];
    const row = async (operation: string, ours: () => unknown, baseline: () => unknown) => {
      rows.push(
        await compare(
          {
            operation,
            unit: "ns/frame",
            unitsPerCall: count,
            ours,
            baseline,
            target: { ratio: 2 },
          },
          options,
        ),
      );
    };

    await row(
      "receiveExactly(16), buffered",
      () =>
        run(async () => {
          const stream = streamWith(chunk.slice());
          for (let i = 0; i < count; i++) await stream.receiveExactly(FRAME);
        }),
      async () => {
        const reader = new HandWritten(chunk.slice());
        for (let i = 0; i < count; i++) await reader.exactly(FRAME);
      },
    );

    await row(
      'receiveUntil("\\r\\n"), buffered',
      () =>
        run(async () => {
          const stream = streamWith(chunk.slice());
          for (let i = 0; i < count; i++) await stream.receiveUntil("\r\n");
        }),
      async () => {
        const reader = new HandWritten(chunk.slice());
        for (let i = 0; i < count; i++) await reader.untilCrLf();
      },
    );

    // frames() and LinesDecoder exist from this version on; older streams have no row.
    const decoders = await import("../src/index.ts");
    const LinesDecoder = (decoders as { LinesDecoder?: new () => unknown }).LinesDecoder;
    if (LinesDecoder !== undefined) {
      await row(
        "frames(LinesDecoder), buffered",
        () =>
          run(async () => {
            const stream = streamWith(chunk.slice()) as SocketStream & {
              frames(decoder: unknown): AsyncIterable<string>;
            };
            let n = 0;
            for await (const _line of stream.frames(new LinesDecoder())) if (++n === count) break;
          }),
        async () => {
          const reader = new HandWritten(chunk.slice());
          for (let i = 0; i < count; i++) await reader.line();
        },
      );
    }
    return rows;
  },
};
