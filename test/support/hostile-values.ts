/**
 * The hostile values of the bad-input fuzz tables: every argument of every public call is
 * tried with each of them. `accepts` says, per call, which ones are legitimate there.
 */
import { expect } from "bun:test";
import { openMemoryChannel, sleep, withPool } from "../../src/index.ts";

/** Lets a bad value through the type checker. */
export const bad = <T>(value: unknown) => value as T;

function throwingProxy(): object {
  const hostile = () => {
    throw new Error("hostile proxy trap");
  };
  return new Proxy(
    {},
    {
      get: hostile,
      has: hostile,
      ownKeys: hostile,
      getPrototypeOf: hostile,
      getOwnPropertyDescriptor: hostile,
    },
  );
}

function detachedView(): Uint8Array {
  const buffer = new ArrayBuffer(8);
  const view = new Uint8Array(buffer);
  structuredClone(buffer, { transfer: [buffer] });
  return view;
}

/** [label, value]: the label is what a failing test prints. */
export const HOSTILE: readonly (readonly [string, unknown])[] = [
  ["undefined", undefined],
  ["null", null],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  ["-1", -1],
  ["1.5", 1.5],
  ["2**53", 2 ** 53],
  ['"1"', "1"],
  ["{}", {}],
  ["[]", []],
  ["a throwing Proxy", throwingProxy()],
  ["a Symbol", Symbol("hostile")],
  ["a function", () => {}],
  ["a detached-buffer view", detachedView()],
  ["a bigint", 10n],
];

/** One argument slot of a public call, fuzzed with every hostile value it does not accept. */
export interface Slot {
  /** The call as it reads, with `v` for the fuzzed argument. */
  call: string;
  /** What the error message must contain: the call and the argument's name. */
  names: string;
  attempt: (value: unknown) => unknown;
  /** The values that are valid here (they are skipped). */
  accepts: (value: unknown) => boolean;
  /** The call returns a promise: it must reject, never throw synchronously. */
  async?: boolean;
}

/** Calls `slot.attempt(value)`; returns what it threw or rejected with (undefined if neither). */
export async function failureOf(slot: Slot, value: unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = slot.attempt(value);
  } catch (error) {
    if (slot.async) throw new Error(`${slot.call} threw synchronously instead of rejecting`);
    return error;
  }
  if (slot.async) expect(result).toBeInstanceOf(Promise);
  try {
    await result;
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The error is a TypeError or RangeError whose message names the call and argument. */
export function expectArgumentError(slot: Slot, label: string, error: unknown): void {
  const where = `${slot.call} with v = ${label}`;
  if (!(error instanceof TypeError || error instanceof RangeError)) {
    throw new Error(`${where}: expected a TypeError or RangeError, got ${String(error)}`);
  }
  if (!error.message.includes(slot.names)) {
    throw new Error(`${where}: the message does not name ${slot.names}: ${error.message}`);
  }
}

/** The loop still works: it sleeps, runs a pool, and hands an item between two tasks. */
export async function expectUsable(): Promise<void> {
  await sleep(1);
  const [send, receive] = openMemoryChannel<string>(0);
  await withPool(async (pool) => {
    pool.spawn(() => send.send("still alive"));
    expect(await receive.receive()).toBe("still alive");
  });
}

/**
 * Tries `slot` with every hostile value it does not accept (at least one): each must be an
 * argument error naming the call and argument, and leave the loop usable. Call inside a task.
 */
export async function fuzzSlot(slot: Slot): Promise<void> {
  let tried = 0;
  for (const [label, value] of HOSTILE) {
    if (slot.accepts(value)) continue;
    tried++;
    expectArgumentError(slot, label, await failureOf(slot, value));
    await expectUsable();
  }
  expect(tried).toBeGreaterThan(0);
}

export const isNumber = (value: unknown): value is number =>
  typeof value === "number" && !Number.isNaN(value);
/** A duration: a number, not NaN, not negative (Infinity and 2**53 included). */
export const isDuration = (value: unknown) => isNumber(value) && value >= 0;
export const isFunction = (value: unknown) => typeof value === "function";
