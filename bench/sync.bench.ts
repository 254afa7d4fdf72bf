/**
 * Synchronization primitives against hand-written promise equivalents: the same two async
 * functions bouncing control back and forth, once through giambio's primitives (parked and
 * woken by the scheduler) and once through bare resolvers (no scheduler, no cancellation).
 * The ratio is what giambio's fairness, cancellability and deadlock detection cost.
 */
import {
  Event,
  Lock,
  openMemoryChannel,
  Queue,
  type ReceiveChannel,
  run,
  type SendChannel,
  withPool,
} from "../src/index.ts";
import { compare, type Row, type Suite, type SuiteOptions } from "./harness.ts";

// ------------------------------------------------------------------ raw baselines

/** A one-shot event over resolvers. */
class RawEvent<T> {
  #value: T | undefined;
  #isSet = false;
  #waiters: ((value: T) => void)[] = [];

  set(value: T): void {
    this.#isSet = true;
    this.#value = value;
    for (const resolve of this.#waiters) resolve(value);
    this.#waiters.length = 0;
  }

  wait(): Promise<T> {
    if (this.#isSet) return Promise.resolve(this.#value as T);
    return new Promise<T>((resolve) => this.#waiters.push(resolve));
  }
}

/** A FIFO lock with direct hand-off over resolvers. */
class RawLock {
  #locked = false;
  #waiters: (() => void)[] = [];

  acquire(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#locked = false;
    else next();
  }
}

/** An unbounded FIFO queue over resolvers. */
class RawQueue<T> {
  #items: T[] = [];
  #getters: ((item: T) => void)[] = [];

  put(item: T): Promise<void> {
    const getter = this.#getters.shift();
    if (getter === undefined) this.#items.push(item);
    else getter(item);
    return Promise.resolve();
  }

  get(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift() as T);
    return new Promise<T>((resolve) => this.#getters.push(resolve));
  }
}

// ------------------------------------------------------------------ workloads

/** Two tasks hand a fresh event back and forth: each round is one set and one wake-up each way. */
async function eventPingPong(rounds: number): Promise<void> {
  await run(() =>
    withPool(async (pool) => {
      let ping = new Event<number>();
      let pong = new Event<number>();
      pool.spawn(async () => {
        for (let i = 0; i < rounds; i++) {
          await ping.wait();
          ping = new Event<number>();
          pong.set(i);
        }
      });
      for (let i = 0; i < rounds; i++) {
        const waitPong = pong;
        ping.set(i);
        await waitPong.wait();
        pong = new Event<number>();
      }
    }),
  );
}

async function rawEventPingPong(rounds: number): Promise<void> {
  let ping = new RawEvent<number>();
  let pong = new RawEvent<number>();
  const other = (async () => {
    for (let i = 0; i < rounds; i++) {
      await ping.wait();
      ping = new RawEvent<number>();
      pong.set(i);
    }
  })();
  for (let i = 0; i < rounds; i++) {
    const waitPong = pong;
    ping.set(i);
    await waitPong.wait();
    pong = new RawEvent<number>();
  }
  await other;
}

/** Two tasks contend for one lock: every release hands it to the other, which was waiting. */
async function lockHandOff(rounds: number): Promise<void> {
  const lock = new Lock();
  const contend = async () => {
    await lock.acquire();
    for (let i = 0; i < rounds; i++) {
      lock.release();
      await lock.acquire();
    }
    lock.release();
  };
  await run(() =>
    withPool((pool) => {
      pool.spawn(contend);
      pool.spawn(contend);
    }),
  );
}

async function rawLockHandOff(rounds: number): Promise<void> {
  const lock = new RawLock();
  const contend = async () => {
    await lock.acquire();
    for (let i = 0; i < rounds; i++) {
      lock.release();
      await lock.acquire();
    }
    lock.release();
  };
  await Promise.all([contend(), contend()]);
}

interface PingPongEnds<T> {
  put(item: T): Promise<void>;
  get(): Promise<T>;
}

/** One round: the item goes out on `there` and comes back on `back`. */
async function bounce(rounds: number, there: PingPongEnds<number>, back: PingPongEnds<number>) {
  for (let i = 0; i < rounds; i++) {
    await there.put(i);
    await back.get();
  }
}

async function echo(rounds: number, there: PingPongEnds<number>, back: PingPongEnds<number>) {
  for (let i = 0; i < rounds; i++) await back.put(await there.get());
}

async function queuePingPong(rounds: number): Promise<void> {
  const there = new Queue<number>();
  const back = new Queue<number>();
  await run(() =>
    withPool((pool) => {
      pool.spawn(echo, rounds, there, back);
      return bounce(rounds, there, back);
    }),
  );
}

async function rawQueuePingPong(rounds: number): Promise<void> {
  const there = new RawQueue<number>();
  const back = new RawQueue<number>();
  await Promise.all([echo(rounds, there, back), bounce(rounds, there, back)]);
}

function channelEnds<T>(send: SendChannel<T>, receive: ReceiveChannel<T>): PingPongEnds<T> {
  return { put: (item) => send.send(item), get: () => receive.receive() };
}

/** Ping-pong over two rendezvous channels (capacity 0): every send meets a waiting receiver. */
async function channelPingPong(rounds: number): Promise<void> {
  const there = channelEnds(...openMemoryChannel<number>(0));
  const back = channelEnds(...openMemoryChannel<number>(0));
  await run(() =>
    withPool((pool) => {
      pool.spawn(echo, rounds, there, back);
      return bounce(rounds, there, back);
    }),
  );
}

// ------------------------------------------------------------------ the suite

export const suite: Suite = {
  name: "sync",
  async run(options: SuiteOptions): Promise<Row[]> {
    const rounds = options.quick ? 1_000 : 10_000;
    const workloads: [
      string,
      string,
      number,
      (n: number) => Promise<void>,
      (n: number) => Promise<void>,
    ][] = [
      ["Event wake-up (ping-pong)", "ns/round trip", rounds, eventPingPong, rawEventPingPong],
      // Each task hands the lock over once per round.
      ["Lock hand-off (2 tasks)", "ns/hand-off", 2 * rounds, lockHandOff, rawLockHandOff],
      ["Queue ping-pong", "ns/round trip", rounds, queuePingPong, rawQueuePingPong],
      [
        "channel ping-pong (capacity 0)",
        "ns/round trip",
        rounds,
        channelPingPong,
        rawQueuePingPong,
      ],
    ];
    const rows: Row[] = [];
    for (const [operation, unit, unitsPerCall, ours, baseline] of workloads) {
      rows.push(
        await compare(
          {
            operation,
            unit,
            unitsPerCall,
            ours: () => ours(rounds),
            baseline: () => baseline(rounds),
            target: { ratio: 2 },
          },
          options,
        ),
      );
    }
    return rows;
  },
};
