/**
 * The write side of a socket, recorded: every write's bytes as text, `capacity` bytes taken
 * at most, and -1 (a failed write, as Bun's socket returns for a dead peer) once `gone` is
 * set. Imports nothing that runs, so the outbox tests stay free of sockets and the loop.
 */
import type { Writer } from "../../src/net/outbox.ts";

export class RecordingWriter implements Writer {
  readonly writes: string[] = [];
  /** How many bytes the next writes take (Infinity: all). */
  capacity = Number.POSITIVE_INFINITY;
  /** The peer is gone: every write returns -1. */
  gone = false;

  /** Like Bun's socket: writes `bytes[byteOffset, byteOffset + byteLength)`. */
  write(bytes: Uint8Array, byteOffset = 0, byteLength = bytes.length - byteOffset): number {
    if (this.gone) return -1;
    const taken = Math.min(byteLength, this.capacity);
    this.capacity -= taken;
    if (taken > 0) {
      this.writes.push(new TextDecoder().decode(bytes.subarray(byteOffset, byteOffset + taken)));
    }
    return taken;
  }
}
