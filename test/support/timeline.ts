/**
 * Records labelled events with their time since creation, so tests can assert the order of
 * what happened and roughly when (in units of a base duration), never exact times.
 */
export class Timeline {
  readonly #now: () => number;
  readonly #start: number;
  readonly events: { label: string; at: number }[] = [];

  constructor(
    /** The test's unit of time in ms (giambio's scripts use seconds; we scale them down). */
    readonly unit: number,
    /** Where time is read: the real clock, or a `MockClock`'s `now` for exact timings. */
    now: () => number = () => performance.now(),
  ) {
    this.#now = now;
    this.#start = now();
  }

  mark(label: string): void {
    this.events.push({ label, at: this.#now() - this.#start });
  }

  get labels(): string[] {
    return this.events.map((event) => event.label);
  }

  /** When `label` happened, in units (e.g. 2.03 for an event about 2 units in). */
  unitsAt(label: string): number {
    const event = this.events.find((e) => e.label === label);
    if (event === undefined) throw new Error(`no event '${label}' in ${this.labels.join(", ")}`);
    return event.at / this.unit;
  }
}

/**
 * Timing bounds on a 2-core noisy machine: not early (timers never fire before their
 * deadline) and not absurdly late.
 */
export function expectAround(units: number, expected: number, slack = 0.9): void {
  if (units < expected - 0.05 || units > expected + slack) {
    throw new Error(`expected about ${expected} units, got ${units.toFixed(2)}`);
  }
}

/** Labels in the order they happened, each with its time in units since the log began. */
export class Log {
  readonly #now: () => number;
  readonly #start: number;
  readonly entries: { label: string; units: number }[] = [];

  constructor(
    /** The test's unit of time in ms. */
    readonly unit: number,
    /** Where time is read: the real clock, or a `MockClock`'s `now` for exact timings. */
    now: () => number = () => performance.now(),
  ) {
    this.#now = now;
    this.#start = now();
  }

  push(label: string): void {
    this.entries.push({ label, units: (this.#now() - this.#start) / this.unit });
  }

  get labels(): string[] {
    return this.entries.map((entry) => entry.label);
  }

  /**
   * Asserts that `label` happened about `units` in: never early, and less than 1.5 units late
   * (0.9, with 25 ms units, failed now and then on a loaded 2-core machine).
   */
  expectAt(label: string, units: number): void {
    const entry = this.entries.find((e) => e.label === label);
    if (entry === undefined) throw new Error(`no entry '${label}' in ${this.labels.join(", ")}`);
    if (entry.units < units - 0.05 || entry.units >= units + 1.5) {
      throw new Error(`expected '${label}' at about ${units} units, got ${entry.units.toFixed(2)}`);
    }
  }
}
