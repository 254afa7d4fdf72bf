/**
 * The error family of giambio. Every error is a `GiambioError` except the ones that must
 * behave like their JavaScript counterparts (`ErrorGroup` is an `AggregateError`, bad
 * arguments are `TypeError`/`RangeError`, see `describe`).
 */

/*
 * The constructors that only pass their arguments on are not useless: the implicit one of a
 * subclass, `constructor(...args) { super(...args) }`, makes an array of its arguments at
 * each level, for each error (and costs a fifth more time: 168 against 138 ns for a two-level
 * error, measured, Bun 1.4.5). Written out on the classes made by the thousand: the base,
 * cancellations, and resets.
 */

/** Base class of every error giambio raises on its own account. */
export class GiambioError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Raised at a checkpoint of a task whose cancel scope was cancelled. Pools and deadlines
 * absorb the `CancelledError`s they caused themselves; catching it is allowed, but the next
 * checkpoint inside the cancelled scope raises it again (cancellation is level-triggered).
 */
export class CancelledError extends GiambioError {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** `withTimeout` (or `withPool({ timeout })`) reached its deadline. */
export class TooSlowError extends GiambioError {
  constructor(readonly timeout: number) {
    super(`the operation timed out after ${timeout} ms`);
  }
}

/** Several tasks of one pool failed; `errors` holds them in the order they happened. */
export class ErrorGroup extends AggregateError {
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
export class ResourceClosedError extends GiambioError {}

/** Another task is already using the resource in a way that allows only one at a time. */
export class ResourceBusyError extends GiambioError {}

/** The other side of the resource is gone (peer reset, every receiver closed). */
export class BrokenResourceError extends GiambioError {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Every sender of a channel is closed and its buffer is drained. */
export class EndOfChannel extends GiambioError {}

/** A `try*` operation could not complete without waiting. */
export class WouldBlock extends GiambioError {}

/** The stream ended before a framing helper got what it needed; `partial` holds what came. */
export class IncompleteReadError extends GiambioError {
  constructor(
    message: string,
    readonly partial: Uint8Array,
  ) {
    super(message);
  }
}

/** SIGINT arrived while `run` was active: the whole task tree was cancelled. */
export class KeyboardInterrupt extends GiambioError {
  constructor() {
    super("interrupted by SIGINT (Ctrl+C)");
  }
}

/**
 * SIGTERM arrived when nothing in the run could drain, or again during a graceful shutdown:
 * the whole task tree was cancelled at once.
 */
export class Terminated extends GiambioError {
  constructor() {
    super("terminated by SIGTERM");
  }
}

nameOnPrototypes({
  GiambioError,
  CancelledError,
  TooSlowError,
  ErrorGroup,
  ResourceClosedError,
  ResourceBusyError,
  BrokenResourceError,
  EndOfChannel,
  WouldBlock,
  IncompleteReadError,
  KeyboardInterrupt,
  Terminated,
});

/**
 * @internal Puts each error class's name on its prototype, as the built-in errors have theirs
 * (`TypeError.prototype.name`), instead of an instance field (`override name = ...`), which
 * adds a property to every error made: a reset or a cancellation of thousands of
 * connections makes thousands of errors at once. Not enumerable, as on the built-ins.
 */
export function nameOnPrototypes(classes: Record<string, { prototype: Error }>): void {
  for (const [name, type] of Object.entries(classes)) {
    Object.defineProperty(type.prototype, "name", {
      value: name,
      writable: true,
      configurable: true,
    });
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
