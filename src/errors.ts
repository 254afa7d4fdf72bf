/**
 * The error family of giambio. Every error is a `GiambioError` except the ones that must
 * behave like their JavaScript counterparts (`ErrorGroup` is an `AggregateError`, bad
 * arguments are `TypeError`/`RangeError`, see `describe`).
 */

/** Base class of every error giambio raises on its own account. */
export class GiambioError extends Error {
  override name = "GiambioError";
}

/**
 * Raised at a checkpoint of a task whose cancel scope was cancelled. Pools and deadlines
 * absorb the `CancelledError`s they caused themselves; catching it is allowed, but the next
 * checkpoint inside the cancelled scope raises it again (cancellation is level-triggered).
 */
export class CancelledError extends GiambioError {
  override name = "CancelledError";
}

/** `withTimeout` (or `withPool({ timeout })`) reached its deadline. */
export class TooSlowError extends GiambioError {
  override name = "TooSlowError";
  constructor(readonly timeout: number) {
    super(`the operation timed out after ${timeout} ms`);
  }
}

/** Several tasks of one pool failed; `errors` holds them in the order they happened. */
export class ErrorGroup extends AggregateError {
  override name = "ErrorGroup";
  declare readonly errors: unknown[];
  constructor(errors: unknown[], message?: string) {
    if (!Array.isArray(errors)) {
      throw new TypeError(
        `new ErrorGroup(errors) must be an array of errors, got ${describe(errors)}`,
      );
    }
    if (message !== undefined && typeof message !== "string") {
      throw new TypeError(
        `new ErrorGroup(errors, message) must be a string, got ${describe(message)}`,
      );
    }
    const head = message ?? `${errors.length} errors in one pool`;
    super(errors, `${head}: ${errors.map(summarize).join("; ")}`);
  }
}

/** The resource (stream, channel end, listener) was closed by this side. */
export class ResourceClosedError extends GiambioError {
  override name = "ResourceClosedError";
}

/** Another task is already using the resource in a way that allows only one at a time. */
export class ResourceBusyError extends GiambioError {
  override name = "ResourceBusyError";
}

/** The other side of the resource is gone (peer reset, every receiver closed). */
export class BrokenResourceError extends GiambioError {
  override name = "BrokenResourceError";
}

/** Every sender of a channel is closed and its buffer is drained. */
export class EndOfChannel extends GiambioError {
  override name = "EndOfChannel";
}

/** A `try*` operation could not complete without waiting. */
export class WouldBlock extends GiambioError {
  override name = "WouldBlock";
}

/** The stream ended before a framing helper got what it needed; `partial` holds what came. */
export class IncompleteReadError extends GiambioError {
  override name = "IncompleteReadError";
  constructor(
    message: string,
    readonly partial: Uint8Array,
  ) {
    super(message);
  }
}

/** SIGINT arrived while `run` was active: the whole task tree was cancelled. */
export class KeyboardInterrupt extends GiambioError {
  override name = "KeyboardInterrupt";
  constructor() {
    super("interrupted by SIGINT (Ctrl+C)");
  }
}

/**
 * SIGTERM arrived when nothing in the run could drain, or again during a graceful shutdown:
 * the whole task tree was cancelled at once.
 */
export class Terminated extends GiambioError {
  override name = "Terminated";
  constructor() {
    super("terminated by SIGTERM");
  }
}

/** "Name: message" of an error, for messages that quote another error. Never throws. */
export function summarize(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : describe(error);
  } catch {
    return describe(error);
  }
}

/**
 * Renders a value for an error message: strings quoted, objects by constructor name. Never
 * throws: a hostile value (a Proxy whose traps throw, a getter on `constructor`) must not
 * replace the error being built, or `instanceof` checks in user code would break.
 */
export function describe(value: unknown): string {
  try {
    return describeValue(value);
  } catch {
    return "an object that cannot be described";
  }
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `array(${value.length})`;
  const name: unknown = (value as object).constructor?.name;
  if (typeof name !== "string" || name === "" || name === "Object") return "an object";
  // "an ArrayBuffer", "an Error", but "a Uint8Array".
  return `${/^[AEIO]/.test(name) ? "an" : "a"} ${name}`;
}
