/**
 * Memory channels (trio's `open_memory_channel`): a buffer between tasks with a send end and
 * a receive end, each of which can be cloned and closed on its own, so that receivers learn
 * when every producer is done and producers learn when every consumer is gone.
 */
import { checkInteger, isInstance } from "../arguments.ts";
import { currentTask } from "../core/context.ts";
import { checkCancelled, wakeWithError } from "../core/park.ts";
import {
  BrokenResourceError,
  describe,
  EndOfChannel,
  ResourceClosedError,
  WouldBlock,
} from "../errors.ts";
import { EMPTY, Mailbox } from "./mailbox.ts";
import type { Waiter } from "./wait-queue.ts";

/** trio's `MemoryChannelStatistics`: the same numbers whichever end is asked. */
export interface ChannelStatistics {
  /** Items in the buffer. */
  currentBufferUsed: number;
  /** The capacity given to `openMemoryChannel`. */
  maxBufferSize: number;
  /** Send ends (clones included) not yet closed. */
  openSendChannels: number;
  /** Receive ends (clones included) not yet closed. */
  openReceiveChannels: number;
  /** Tasks parked in `send()`. */
  tasksWaitingSend: number;
  /** Tasks parked in `receive()`. */
  tasksWaitingReceive: number;
}

/** The ends' constructors take the shared state, which only this module can make. */
function checkChannelState(end: string, state: unknown): void {
  if (!isInstance(state, ChannelState)) {
    throw new TypeError(
      `new ${end}() is not for users: open a channel with openMemoryChannel(capacity), got ${describe(state)}`,
    );
  }
}

/** What the ends of one channel share. */
class ChannelState<T> {
  readonly mailbox: Mailbox<T>;
  openSenders = 1;
  openReceivers = 1;

  constructor(capacity: number) {
    this.mailbox = new Mailbox<T>(
      capacity,
      () => `SendChannel.send() (channel full, capacity ${capacity})`,
      () => "ReceiveChannel.receive() (channel empty)",
    );
  }

  statistics(): ChannelStatistics {
    const mailbox = this.mailbox;
    return {
      currentBufferUsed: mailbox.items.length,
      maxBufferSize: mailbox.capacity,
      openSendChannels: this.openSenders,
      openReceiveChannels: this.openReceivers,
      tasksWaitingSend: mailbox.senders.size,
      tasksWaitingReceive: mailbox.receivers.size,
    };
  }
}

const sent: Promise<void> = Promise.resolve();

/**
 * Opens a memory channel and returns its two ends. `capacity` is how many items the buffer
 * holds before `send()` waits: an integer >= 0, or `Infinity`. With 0 the channel is a
 * rendezvous: `send()` completes only when a receiver takes the item.
 *
 * Every end is closed independently (`close()`, or `using`); clones (`clone()`) share the
 * channel. When every send end is closed, receivers drain the buffer and then get
 * `EndOfChannel` (`for await` just ends). When every receive end is closed, senders get
 * `BrokenResourceError`. Using an end after closing it → `ResourceClosedError`.
 *
 * ```ts
 * const [send, receive] = openMemoryChannel<string>(10);
 * pool.spawn(async () => { using s = send; for (const line of lines) await s.send(line); });
 * for await (const line of receive) console.log(line); // ends when the sender is closed
 * ```
 */
export function openMemoryChannel<T>(capacity: number): [SendChannel<T>, ReceiveChannel<T>] {
  checkInteger("openMemoryChannel(capacity)", capacity, 0, true);
  const state = new ChannelState<T>(capacity);
  return [new SendChannel(state), new ReceiveChannel(state)];
}

/**
 * The send end of a memory channel. All operations are FIFO-fair among the tasks using any
 * clone of it. The non-blocking variant throws `WouldBlock` (rather than returning a flag)
 * so that a full channel cannot be mistaken for success.
 */
export class SendChannel<T> {
  readonly #state: ChannelState<T>;
  #closed = false;

  /** Not for users: ends come from `openMemoryChannel` and `clone()` (a `TypeError` otherwise). */
  constructor(state: ChannelState<T>) {
    checkChannelState("SendChannel", state);
    this.#state = state;
  }

  /**
   * Sends `item`, waiting while the buffer is full (with capacity 0: until a receiver takes
   * it). A cancellation point: in a cancelled scope it rejects with `CancelledError` and the
   * item is not sent, even when it could be (then it does not yield, it only checks); a
   * sender cancelled while it waits never delivers its item.
   * Rejects with `ResourceClosedError` if this end is closed (also when it is closed while
   * the task waits), `BrokenResourceError` if every receive end is closed (also while it waits).
   */
  send(item: T): Promise<void> {
    try {
      const task = currentTask();
      const cancelled = checkCancelled(task);
      if (cancelled !== null) return cancelled;
      this.#checkCanSend("send", item);
      const mailbox = this.#state.mailbox;
      if (mailbox.offer(item)) return sent;
      return mailbox.senders.park(task, item, this);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends `item` if that needs no waiting: a receiver is waiting or the buffer has room.
   * Otherwise throws `WouldBlock` and sends nothing. Also throws `ResourceClosedError` and
   * `BrokenResourceError` as `send` does. Not a cancellation point; callable outside a task.
   */
  trySend(item: T): void {
    this.#checkCanSend("trySend", item);
    if (!this.#state.mailbox.offer(item)) {
      throw new WouldBlock(
        `SendChannel.trySend(${describe(item)}): the channel is full (capacity ${this.#state.mailbox.capacity}) and no task is waiting to receive`,
      );
    }
  }

  /**
   * Another send end of the same channel; the channel counts as open for sending until every
   * clone is closed. Cloning a closed end → `ResourceClosedError`.
   */
  clone(): SendChannel<T> {
    if (this.#closed) throw new ResourceClosedError("SendChannel.clone(): this send end is closed");
    this.#state.openSenders++;
    return new SendChannel(this.#state);
  }

  /**
   * Closes this end. Tasks waiting in `send()` on it reject with `ResourceClosedError` (their
   * items are not sent). If it was the last open send end, tasks waiting in `receive()` get
   * `EndOfChannel`; items already buffered can still be received. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const state = this.#state;
    failWaiters(
      state.mailbox.senders.removeWhere((waiter) => waiter.origin === this),
      () => new ResourceClosedError("SendChannel.send(): this send end was closed while waiting"),
    );
    if (--state.openSenders === 0) {
      failWaiters(state.mailbox.receivers.removeWhere(everyWaiter), () => endOfChannel("receive"));
    }
  }

  /** `using send = ...` closes the end when the block exits. */
  [Symbol.dispose](): void {
    this.close();
  }

  statistics(): ChannelStatistics {
    return this.#state.statistics();
  }

  #checkCanSend(operation: string, item: T): void {
    if (this.#closed) {
      throw new ResourceClosedError(
        `SendChannel.${operation}(${describe(item)}): this send end is closed`,
      );
    }
    if (this.#state.openReceivers === 0) {
      throw new BrokenResourceError(
        `SendChannel.${operation}(${describe(item)}): every receive end of the channel is closed; nobody can receive it`,
      );
    }
  }
}

/**
 * The receive end of a memory channel. All operations are FIFO-fair among the tasks using
 * any clone of it. `for await (const item of receive)` receives until every send end is
 * closed and the buffer is drained. The non-blocking variant throws `WouldBlock` (rather than
 * returning a sentinel) so that every `T`, `undefined` included, stays a valid item.
 */
export class ReceiveChannel<T> {
  readonly #state: ChannelState<T>;
  #closed = false;

  /** Not for users: ends come from `openMemoryChannel` and `clone()` (a `TypeError` otherwise). */
  constructor(state: ChannelState<T>) {
    checkChannelState("ReceiveChannel", state);
    this.#state = state;
  }

  /**
   * Receives the next item, waiting while there is none. A cancellation point: in a cancelled
   * scope it rejects with `CancelledError` and takes nothing, even when an item is there (then
   * it does not yield, it only checks); a receiver cancelled while it waits never takes an item.
   * Rejects with `EndOfChannel` once every send end is closed and the buffer is drained, and
   * with `ResourceClosedError` if this end is closed (also when it is closed while the task
   * waits).
   */
  receive(): Promise<T> {
    try {
      const task = currentTask();
      const cancelled = checkCancelled(task);
      if (cancelled !== null) return cancelled;
      const item = this.#take("receive");
      if (item !== EMPTY) return Promise.resolve(item);
      return this.#state.mailbox.receivers.park(task, undefined, this);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Receives the next item if there is one at once (buffered, or from a waiting sender).
   * Otherwise throws `WouldBlock`, or `EndOfChannel` when every send end is closed. Also throws
   * `ResourceClosedError` as `receive` does. Not a cancellation point; callable outside a task.
   */
  tryReceive(): T {
    const item = this.#take("tryReceive");
    if (item === EMPTY) {
      throw new WouldBlock(
        "ReceiveChannel.tryReceive(): the channel is empty and no task is waiting to send",
      );
    }
    return item;
  }

  /**
   * Another receive end of the same channel; the channel counts as open for receiving until
   * every clone is closed. Cloning a closed end → `ResourceClosedError`.
   */
  clone(): ReceiveChannel<T> {
    if (this.#closed) {
      throw new ResourceClosedError("ReceiveChannel.clone(): this receive end is closed");
    }
    this.#state.openReceivers++;
    return new ReceiveChannel(this.#state);
  }

  /**
   * Closes this end. Tasks waiting in `receive()` on it reject with `ResourceClosedError`. If
   * it was the last open receive end, tasks waiting in `send()` reject with
   * `BrokenResourceError` (their items are not sent) and buffered items are dropped: nobody
   * can receive them any more. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const state = this.#state;
    const mailbox = state.mailbox;
    failWaiters(
      mailbox.receivers.removeWhere((waiter) => waiter.origin === this),
      () =>
        new ResourceClosedError(
          "ReceiveChannel.receive(): this receive end was closed while waiting",
        ),
    );
    if (--state.openReceivers === 0) {
      failWaiters(
        mailbox.senders.removeWhere(everyWaiter),
        () =>
          new BrokenResourceError(
            "SendChannel.send(): every receive end of the channel was closed while waiting; the item was not sent",
          ),
      );
      mailbox.items.length = 0;
    }
  }

  /** `using receive = ...` closes the end when the block exits. */
  [Symbol.dispose](): void {
    this.close();
  }

  statistics(): ChannelStatistics {
    return this.#state.statistics();
  }

  /** Receives items until every send end is closed and the buffer is drained. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    while (true) {
      let item: T;
      try {
        item = await this.receive();
      } catch (error) {
        if (error instanceof EndOfChannel) return;
        throw error;
      }
      yield item;
    }
  }

  /** The next item if it can be had at once, `EMPTY` if waiting could bring one. */
  #take(operation: string): T | typeof EMPTY {
    if (this.#closed) {
      throw new ResourceClosedError(`ReceiveChannel.${operation}(): this receive end is closed`);
    }
    const item = this.#state.mailbox.take();
    if (item === EMPTY && this.#state.openSenders === 0) throw endOfChannel(operation);
    return item;
  }
}

function everyWaiter(): boolean {
  return true;
}

function endOfChannel(operation: string): EndOfChannel {
  return new EndOfChannel(
    `ReceiveChannel.${operation}(): every send end of the channel is closed and its buffer is drained`,
  );
}

function failWaiters(waiters: Waiter<unknown>[], error: () => Error): void {
  for (const waiter of waiters) wakeWithError(waiter.task, error());
}
