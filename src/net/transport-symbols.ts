/**
 * Keys of the members that streams have for the library's own use (the receiver's read
 * backpressure, the graceful drain, the shared Bun callbacks). Symbol-keyed, and these
 * symbols are not exported from the package, so the members are not part of a stream's
 * public surface, yet are plain property accesses: nothing is added on the hot path.
 */

/** `ReceiveTransport`: stop delivering chunks (read backpressure). */
export const PAUSE_READING: unique symbol = Symbol("pauseReading");
/** `ReceiveTransport`: deliver chunks again. */
export const RESUME_READING: unique symbol = Symbol("resumeReading");
/** `SocketStream`: bytes held in memory (received and unread, plus accepted and unsent). */
export const HELD_BYTES: unique symbol = Symbol("heldBytes");
/** `SocketStream`: the reader is parked waiting for the first byte of a message. */
export const READER_IDLE: unique symbol = Symbol("readerIdle");
/** `SocketStream`: called as the reader starts to wait idle (a graceful drain). */
export const ON_READER_IDLE: unique symbol = Symbol("onReaderIdle");
/** `SocketStream` (static): the Bun socket callbacks every stream shares. */
export const SOCKET_CALLBACKS: unique symbol = Symbol("socketCallbacks");
