/**
 * Seeded chaos: many producers and consumers on one channel (or queue), random checkpoints,
 * random cancellations of producers, consumers and single operations. Whatever happens,
 * every item whose send succeeded is received exactly once, and no item whose send failed
 * is ever received.
 */
import { describe, expect, test } from "bun:test";
import {
  checkpoint,
  openMemoryChannel,
  Queue,
  type ReceiveChannel,
  run,
  type SendChannel,
  skipAfter,
  type Task,
  withPool,
} from "../../src/index.ts";
import { seededRandom } from "../../src/seeded-random.ts";

const PRODUCERS = 6;
const CONSUMERS = 4;
const ITEMS_PER_PRODUCER = 40;
const CANCELLATIONS = 5;
const SEEDS = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
const CAPACITIES = [0, 1, 3, Number.POSITIVE_INFINITY];

interface Ledger {
  sent: Set<string>;
  notSent: Set<string>;
  received: string[];
}

/** Checks the ledger: what was sent arrived exactly once; what was not sent never arrived. */
function checkLedger({ sent, notSent, received }: Ledger): void {
  const counts = new Map<string, number>();
  for (const item of received) counts.set(item, (counts.get(item) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([item]) => item);
  const lost = [...sent].filter((item) => !counts.has(item));
  const phantom = received.filter((item) => !sent.has(item));
  expect({ duplicated, lost, phantom }).toEqual({ duplicated: [], lost: [], phantom: [] });
  expect([...notSent].filter((item) => sent.has(item))).toEqual([]);
}

async function pause(random: () => number, max: number): Promise<void> {
  const n = Math.floor(random() * max);
  for (let i = 0; i < n; i++) await checkpoint();
}

/** Cancels a few random tasks among those still running, at random moments. */
async function chaos(random: () => number, tasks: Task<void>[]): Promise<void> {
  for (let round = 0; round < CANCELLATIONS; round++) {
    await pause(random, 20);
    const live = tasks.filter((task) => !task.done);
    if (live.length === 0) break;
    live[Math.floor(random() * live.length)]?.cancel();
  }
}

/**
 * Sends one item; returns whether it was sent. Some sends run under a deadline of 0 that may
 * cut them short. The flag is set by the body itself, right after the send returned: a
 * deadline that passes after the hand-off must not make a delivered item look unsent.
 */
async function sendOnce(
  random: () => number,
  end: SendChannel<string> | Queue<string>,
  item: string,
): Promise<boolean> {
  const send = () => (end instanceof Queue ? end.put(item) : end.send(item));
  if (random() >= 0.15) {
    await send();
    return true;
  }
  let sent = false;
  await skipAfter(0, async () => {
    await send();
    sent = true;
  });
  return sent;
}

async function channelScenario(seed: number, capacity: number): Promise<Ledger> {
  const random = seededRandom(seed);
  const ledger: Ledger = { sent: new Set(), notSent: new Set(), received: [] };
  const [send, receive] = openMemoryChannel<string>(capacity);

  async function producer(end: SendChannel<string>, id: number) {
    using own = end;
    for (let i = 0; i < ITEMS_PER_PRODUCER; i++) {
      const item = `${id}:${i}`;
      try {
        if (await sendOnce(random, own, item)) ledger.sent.add(item);
        else ledger.notSent.add(item);
      } catch (error) {
        ledger.notSent.add(item);
        throw error;
      }
      await pause(random, 3);
    }
  }

  async function consumer(end: ReceiveChannel<string>) {
    using own = end;
    for await (const item of own) {
      ledger.received.push(item);
      await pause(random, 3);
    }
  }

  await run(async () => {
    await withPool(async (pool) => {
      const tasks: Task<void>[] = [];
      for (let p = 0; p < PRODUCERS; p++) tasks.push(pool.spawn(producer, send.clone(), p));
      for (let c = 0; c < CONSUMERS; c++) tasks.push(pool.spawn(consumer, receive.clone()));
      send.close(); // the producers' clones keep the channel open
      await chaos(random, tasks);
      // Whatever the consumers left (all of them may be cancelled) is drained here; this
      // ends when every producer has finished or been cancelled and closed its clone.
      for await (const item of receive) ledger.received.push(item);
    });
  });
  expect(receive.statistics()).toMatchObject({
    currentBufferUsed: 0,
    openSendChannels: 0,
    tasksWaitingSend: 0,
    tasksWaitingReceive: 0,
  });
  return ledger;
}

async function queueScenario(seed: number, maxsize: number): Promise<Ledger> {
  const random = seededRandom(seed);
  const ledger: Ledger = { sent: new Set(), notSent: new Set(), received: [] };
  const queue = new Queue<string>(maxsize);

  async function producer(id: number) {
    for (let i = 0; i < ITEMS_PER_PRODUCER; i++) {
      const item = `${id}:${i}`;
      try {
        if (await sendOnce(random, queue, item)) ledger.sent.add(item);
        else ledger.notSent.add(item);
      } catch (error) {
        ledger.notSent.add(item);
        throw error;
      }
      await pause(random, 3);
    }
  }

  async function consumer() {
    for await (const item of queue) {
      ledger.received.push(item);
      await pause(random, 3);
    }
  }

  await run(async () => {
    await withPool(async (outer) => {
      const consumers: Task<void>[] = [];
      for (let c = 0; c < CONSUMERS; c++) consumers.push(outer.spawn(consumer));
      await withPool(async (inner) => {
        const producers: Task<void>[] = [];
        for (let p = 0; p < PRODUCERS; p++) producers.push(inner.spawn(producer, p));
        await chaos(random, [...producers, ...consumers]);
        // Keep items flowing even if every consumer was cancelled.
        while (producers.some((task) => !task.done)) {
          if (queue.size > 0) ledger.received.push(await queue.get());
          else await checkpoint();
        }
      });
      outer.cancel(); // the consumers loop forever; stop them
    });
    while (queue.size > 0) ledger.received.push(await queue.get());
  });
  expect(queue.statistics()).toMatchObject({ size: 0, tasksWaitingPut: 0, tasksWaitingGet: 0 });
  return ledger;
}

describe("randomized producers/consumers with cancellations", () => {
  for (const capacity of CAPACITIES) {
    test(`memory channel, capacity ${capacity}: every item sent is received exactly once`, async () => {
      let notSent = 0;
      for (const seed of SEEDS) {
        const ledger = await channelScenario(seed * 1000 + capacity, capacity);
        checkLedger(ledger);
        expect(ledger.sent.size + ledger.notSent.size).toBeGreaterThan(0);
        notSent += ledger.notSent.size;
      }
      expect(notSent).toBeGreaterThan(0); // the chaos did hit some sends
    }, 10_000);
  }

  for (const maxsize of [1, 3, Number.POSITIVE_INFINITY]) {
    test(`Queue(${maxsize}): every item put is got exactly once`, async () => {
      let notSent = 0;
      for (const seed of SEEDS) {
        const ledger = await queueScenario(seed * 7919 + maxsize, maxsize);
        checkLedger(ledger);
        notSent += ledger.notSent.size;
      }
      expect(notSent).toBeGreaterThan(0); // the chaos did hit some puts
    }, 10_000);
  }

  test("the ledger check fails on a lost, duplicated or phantom item", () => {
    const sent = new Set(["a", "b"]);
    expect(() => checkLedger({ sent, notSent: new Set(), received: ["a"] })).toThrow();
    expect(() => checkLedger({ sent, notSent: new Set(), received: ["a", "b", "b"] })).toThrow();
    expect(() => checkLedger({ sent, notSent: new Set(), received: ["a", "b", "c"] })).toThrow();
    expect(() => checkLedger({ sent, notSent: new Set(["b"]), received: ["a", "b"] })).toThrow();
    checkLedger({ sent, notSent: new Set(["c"]), received: ["b", "a"] });
  });
});
