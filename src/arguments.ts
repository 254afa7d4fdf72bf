/**
 * Argument checks for the public API. Each names the argument and the value it got, so a
 * bad call fails at once with a message that says what to fix.
 */
import { describe } from "./errors.ts";

/** A duration or delay in ms: a number, not NaN, not negative (`Infinity` allowed). */
export function checkDuration(what: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what} must be a number of milliseconds, got ${describe(value)}`);
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative number of milliseconds, got ${value}`);
  }
  return value;
}

/** A point in time on the scheduler's clock: a number, not NaN. */
export function checkInstant(what: string, value: unknown): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new (typeof value === "number" ? RangeError : TypeError)(
      `${what} must be a time in milliseconds on giambio's clock, got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * An options bag: an object (not null, not an array, not a function) whose own keys are all
 * in `accepted`. A misspelt key (`{ tiemout: 100 }`) would otherwise be ignored in silence, so
 * it is a `TypeError` naming the key and listing the accepted ones. A key set to `undefined`
 * counts as absent; `null` is no option's "default" (see README, "Options"): each check
 * rejects it unless that option documents what `null` means.
 *
 * @param what the call and argument, as the message shows them: `"withPool(body, options)"`
 * @param example the message's sample bag for a non-object (default: the accepted keys)
 */
export function checkOptions(
  what: string,
  value: unknown,
  accepted: readonly string[],
  example = `{ ${accepted.join(", ")} }`,
): Record<string, unknown> {
  checkKeys(what, optionKeys(what, value, example), accepted);
  return value as Record<string, unknown>;
}

/**
 * The own keys of the options bag `value`, or the `TypeError` of `checkOptions` for a value
 * that is no bag (see there): for a call that must look at the keys before judging them.
 */
export function optionKeys(what: string, value: unknown, example: string): string[] {
  if (isPlainObject(value)) {
    try {
      return Object.keys(value);
    } catch {
      // A Proxy whose traps throw: its error must not stand in for this one.
    }
  }
  throw new TypeError(`${what} must be an object like ${example}, got ${describe(value)}`);
}

/**
 * `options` (an object already checked to be one, such as Bun's TLS options inside a bag)
 * has only the keys `accepted`; see `checkOptions`.
 */
export function checkKnownKeys(what: string, options: object, accepted: readonly string[]): void {
  checkKeys(what, Object.keys(options), accepted);
}

export function checkKeys(
  what: string,
  keys: readonly string[],
  accepted: readonly string[],
): void {
  for (const key of keys) {
    if (!accepted.includes(key)) {
      throw new TypeError(
        `${what} got an unknown option ${JSON.stringify(key)}; the accepted ones are ${accepted.join(", ")}`,
      );
    }
  }
}

/**
 * An object literal (or `Object.create(null)`): not an array, a typed array, a class
 * instance or a function, which would be option bags only by accident. Never throws.
 */
function isPlainObject(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  try {
    const prototype = Object.getPrototypeOf(value);
    return prototype === Object.prototype || prototype === null;
  } catch {
    return false;
  }
}

/** `value[name]` is a function; false (never a throw) for a value whose property read throws. */
export function hasMethod(value: unknown, name: string): boolean {
  try {
    return typeof (value as Record<string, unknown> | null | undefined)?.[name] === "function";
  } catch {
    return false;
  }
}

/** `value instanceof type`, false (never a throw) for a Proxy whose prototype trap throws. */
export function isInstance<T>(
  value: unknown,
  type: abstract new (...args: never[]) => T,
): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/**
 * `fn.name` when it is a string, else "" (the task is then named `task-<id>`): a function
 * Proxy whose `get` trap throws, or a class whose static `name` is not a string, must not
 * make spawning it fail with an error of its own.
 */
export function functionName(fn: (...args: never[]) => unknown): string {
  try {
    const name: unknown = fn.name;
    return typeof name === "string" ? name : "";
  } catch {
    return "";
  }
}

export function checkBoolean(what: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`${what} must be true or false, got ${describe(value)}`);
  }
  return value;
}

export function checkFunction(what: string, value: unknown): void {
  if (typeof value !== "function") {
    throw new TypeError(`${what} must be a function, got ${describe(value)}`);
  }
}

/** A count or size: an integer of at least `min` (`Infinity` only when `allowInfinity`). */
export function checkInteger(what: string, value: unknown, min: number, allowInfinity = false) {
  const ok =
    typeof value === "number" &&
    (Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY)) &&
    value >= min;
  if (!ok) {
    const kind = allowInfinity ? `an integer >= ${min} or Infinity` : `an integer >= ${min}`;
    const error = typeof value === "number" ? RangeError : TypeError;
    throw new error(`${what} must be ${kind}, got ${describe(value)}`);
  }
  return value as number;
}
