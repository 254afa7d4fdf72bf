/**
 * giambio for Bun: the public surface (see README.md and the API contract).
 */

export type { MockClockOptions } from "./clock.ts";
export { type Clock, MockClock } from "./clock.ts";
export { currentTask } from "./core/context.ts";
export { shield, skipAfter, withTimeout } from "./core/deadlines.ts";
export { BaseDebugger } from "./core/debugger.ts";
export { type Pool, type PoolOptions, withPool } from "./core/pool.ts";
export {
  type Blocker,
  checkCancelled,
  park,
  refuseWait,
  wake,
  wakeWithError,
} from "./core/primitives.ts";
export { run, Scheduler } from "./core/run.ts";
export type { SchedulerOptions } from "./core/scheduler.ts";
export { requestShutdown, shutdownSignal, waitForShutdown } from "./core/shutdown.ts";
export { checkpoint, clock, sleep, sleepForever, sleepUntil } from "./core/sleep.ts";
export type { Started } from "./core/start.ts";
export type { Task, TaskState } from "./core/task.ts";
export { currentSignal, until } from "./core/until.ts";
export {
  BrokenResourceError,
  CancelledError,
  EndOfChannel,
  ErrorGroup,
  GiambioError,
  IncompleteReadError,
  KeyboardInterrupt,
  ResourceBusyError,
  ResourceClosedError,
  Terminated,
  TooSlowError,
  WouldBlock,
} from "./errors.ts";
export { stdinLines } from "./io/stdin.ts";
export type { ByteStream } from "./net/byte-stream.ts";
export { connect } from "./net/connect.ts";
export {
  type Decoded,
  type Decoder,
  DelimiterDecoder,
  type DelimiterDecoderOptions,
  type Dropped,
  FrameTooLongError,
  LengthPrefixedDecoder,
  type LengthPrefixedDecoderOptions,
  LinesDecoder,
  type LinesDecoderOptions,
  LineTooLongError,
} from "./net/decoder.ts";
export type { ConnectOptions, ListenOptions } from "./net/endpoint.ts";
export { Listener, listen } from "./net/listener.ts";
export {
  MemoryStream,
  type MemoryStreamOptions,
  memoryStreamPair,
} from "./net/memory-stream.ts";
export type { ProxyProtocolOptions } from "./net/proxy-options.ts";
export { RECEIVE_HIGH_WATER_MARK, type ReceiveLineOptions } from "./net/receiver.ts";
export { type ServeOptions, serve } from "./net/serve.ts";
export { SocketStream } from "./net/stream.ts";
export type { WorkerOptions, WorkerPolicy } from "./net/workers.ts";
export {
  type CompletedProcess,
  type OutputMode,
  ProcessError,
  type RunProcessOptions,
  runProcess,
} from "./process/run-process.ts";
export {
  type ChannelStatistics,
  openMemoryChannel,
  ReceiveChannel,
  SendChannel,
} from "./sync/channel.ts";
export { Event, type EventStatistics } from "./sync/event.ts";
export { Lock, type LockStatistics } from "./sync/lock.ts";
export { Queue, type QueueStatistics } from "./sync/queue.ts";
export { Semaphore, type SemaphoreStatistics } from "./sync/semaphore.ts";
