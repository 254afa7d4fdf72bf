/**
 * Bad input to the sync primitives: every argument of every constructor and method given
 * each hostile value must fail with a TypeError or RangeError naming the call and argument,
 * leaving the loop usable; the internal channel-end constructors refuse users; and the
 * legitimate errors (a second `Event.set`, `trySend` on a full channel, `send` on a closed
 * one) keep their class even when the item is a value whose description would throw.
 */
import { describe, expect, test } from "bun:test";
import {
  BrokenResourceError,
  Event,
  GiambioError,
  Lock,
  openMemoryChannel,
  Queue,
  ReceiveChannel,
  ResourceClosedError,
  run,
  Semaphore,
  SendChannel,
  WouldBlock,
} from "../../src/index.ts";
import {
  bad,
  expectUsable,
  fuzzSlot,
  HOSTILE,
  isFunction,
  type Slot,
} from "../support/hostile-values.ts";

const isCount = (min: number, infinity: boolean) => (value: unknown) =>
  typeof value === "number" &&
  (Number.isInteger(value) || (infinity && value === Number.POSITIVE_INFINITY)) &&
  value >= min;

const slots: Slot[] = [
  {
    call: "new Semaphore(v)",
    names: "new Semaphore(initialValue)",
    attempt: (v) => new Semaphore(bad(v)),
    accepts: isCount(0, false),
  },
  {
    call: "new Semaphore(1, v)",
    names: "new Semaphore(initialValue, maxValue)",
    attempt: (v) => new Semaphore(1, bad(v)),
    accepts: (v) => v === undefined || isCount(1, true)(v),
  },
  {
    call: "semaphore.withPermit(v)",
    names: "Semaphore.withPermit(fn)",
    attempt: (v) => new Semaphore(1).withPermit(bad(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "lock.withLock(v)",
    names: "Lock.withLock(fn)",
    attempt: (v) => new Lock().withLock(bad(v)),
    accepts: isFunction,
    async: true,
  },
  {
    call: "new Queue(v)",
    names: "new Queue(maxsize)",
    attempt: (v) => new Queue(bad(v)),
    accepts: (v) => v === undefined || isCount(1, true)(v),
  },
  {
    call: "openMemoryChannel(v)",
    names: "openMemoryChannel(capacity)",
    attempt: (v) => openMemoryChannel(bad(v)),
    accepts: isCount(0, true),
  },
  {
    call: "new SendChannel(v)",
    names: "new SendChannel()",
    attempt: (v) => new SendChannel(bad<never>(v)),
    accepts: () => false,
  },
  {
    call: "new ReceiveChannel(v)",
    names: "new ReceiveChannel()",
    attempt: (v) => new ReceiveChannel(bad<never>(v)),
    accepts: () => false,
  },
];

describe("bad input: every sync call with every hostile value", () => {
  test.each(slots.map((slot) => [slot.call, slot] as const))("%s", (_call, slot) =>
    run(() => fuzzSlot(slot)),
  );

  test("the channel ends' constructors are not for users", () => {
    const [send, receive] = openMemoryChannel(1);
    // Not even with an end of a real channel: only openMemoryChannel and clone() make ends.
    expect(() => new SendChannel(bad<never>(send))).toThrow(
      new TypeError(
        "new SendChannel() is not for users: open a channel with openMemoryChannel(capacity), got a SendChannel",
      ),
    );
    expect(() => new ReceiveChannel(bad<never>(receive))).toThrow(TypeError);
    expect(send.clone()).toBeInstanceOf(SendChannel);
  });
});

describe("legitimate errors keep their class whatever the value", () => {
  const hostileItems = HOSTILE.filter(([label]) => label !== "undefined");

  test.each(hostileItems.map(([label, value]) => [label, value] as const))(
    "with %s as the value",
    (_label, value) =>
      run(async () => {
        const event = new Event<unknown>();
        event.set(value);
        expect(() => event.set(value)).toThrow(GiambioError);

        const [full, fullReceiver] = openMemoryChannel<unknown>(0);
        expect(() => full.trySend(value)).toThrow(WouldBlock);

        const [closed] = openMemoryChannel<unknown>(1);
        closed.close();
        expect(() => closed.trySend(value)).toThrow(ResourceClosedError);
        await expect(closed.send(value)).rejects.toBeInstanceOf(ResourceClosedError);

        fullReceiver.close();
        await expect(full.send(value)).rejects.toBeInstanceOf(BrokenResourceError);
        await expectUsable();
      }),
  );
});
