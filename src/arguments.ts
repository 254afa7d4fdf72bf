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

/** An options bag: an object (not null, not an array). */
export function checkOptions(what: string, value: unknown, example: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object like ${example}, got ${describe(value)}`);
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

/** An options bag whose every key is one of `accepted`: a typo is a TypeError, not a no-op. */
export function checkKnownKeys(what: string, options: object, accepted: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!accepted.includes(key)) {
      throw new TypeError(
        `${what} got an unknown option ${JSON.stringify(key)}; the accepted ones are ${accepted.join(", ")}`,
      );
    }
  }
}
