/**
 * Randomized cancellation: seeded random task trees with random sleeps, errors, deadlines,
 * shields and cancellations at random points, run on an autojumping mock clock. Invariants:
 * every `finally` runs exactly once, no task outlives its pool, the error `run` reports is
 * exactly the set of errors raised (nothing lost, nothing duplicated, nothing invented), and
 * no unhandled rejection reaches the process (test/setup.ts fails the test if one does).
 */
import { describe, expect, test } from "bun:test";
import {
  CancelledError,
  checkpoint,
  ErrorGroup,
  MockClock,
  type Pool,
  Scheduler,
  shield,
  skipAfter,
  sleep,
  type Task,
  TooSlowError,
  until,
  withPool,
  withTimeout,
} from "../../src/index.ts";
import { seededRandom } from "../../src/seeded-random.ts";

const RUNS = Number(process.env["GIAMBIO_RANDOM_RUNS"] ?? 300);

class Failure extends Error {
  override name = "Failure";
}

/** One random program and everything it observed about itself. */
class Program {
  readonly random: () => number;
  readonly raised: unknown[] = [];
  /** How many times each task's finally ran, by task number. */
  readonly finallies = new Map<number, number>();
  readonly outlived: string[] = [];
  #nextTask = 0;
  #budget = 60;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  #pick(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** The body of one task: a random mix of sleeps, nested blocks, failures, cancellations. */
  async task(depth: number, pool: Pool | null): Promise<void> {
    const id = this.#nextTask++;
    this.finallies.set(id, 0);
    let propagating: unknown;
    try {
      const steps = 1 + this.#pick(3);
      for (let i = 0; i < steps; i++) await this.#step(depth, pool);
    } catch (error) {
      propagating = error;
      throw error;
    } finally {
      this.finallies.set(id, (this.finallies.get(id) as number) + 1);
      if (this.random() < 0.1) {
        // Cleanup that awaits: cancelled again at once unless shielded.
        if (this.random() < 0.5) await shield(() => sleep(this.#pick(5)));
        else await checkpoint().catch(() => {});
      }
      if (this.random() < 0.05) {
        // JavaScript itself drops an error that a throwing finally replaces; that loss is
        // the program's, not giambio's, so it leaves the expected set.
        for (const lost of flatten(propagating)) this.raised.splice(this.raised.indexOf(lost), 1);
        this.#fail("in finally");
      }
    }
  }

  #fail(where: string): never {
    const error = new Failure(`failure #${this.raised.length} ${where}`);
    this.raised.push(error);
    throw error;
  }

  async #step(depth: number, pool: Pool | null): Promise<void> {
    const roll = this.random();
    if (roll < 0.3 || depth > 3 || this.#budget <= 0) {
      await sleep(this.#pick(20));
    } else if (roll < 0.4) {
      this.#fail("in body");
    } else if (roll < 0.48 && pool !== null) {
      await sleep(this.#pick(10));
      pool.cancel();
    } else if (roll < 0.5) {
      await checkpoint();
    } else if (roll < 0.53) {
      // A foreign promise: cancellable through until(), or a plain await the loop cannot see.
      const foreign = new Promise((resolve) => setTimeout(resolve, this.#pick(3)));
      if (this.random() < 0.5) await until(foreign);
      else await foreign;
    } else {
      const kind = this.#pick(3);
      const body = async (inner: Pool) => {
        const children: Task[] = [];
        const count = 1 + this.#pick(3);
        for (let i = 0; i < count && this.#budget-- > 0; i++) {
          children.push(inner.spawn(() => this.task(depth + 1, inner)));
        }
        if (children.length > 0 && this.random() < 0.2) {
          await sleep(this.#pick(10));
          children[this.#pick(children.length)]?.cancel();
        }
        await this.task(depth + 1, inner);
        return children;
      };
      const check = (children: Task[] | undefined) => {
        for (const child of children ?? []) {
          if (!child.done) this.outlived.push(child.name);
        }
      };
      let children: Task[] | undefined;
      const observe = async (inner: Pool) => {
        children = await body(inner);
        return children;
      };
      try {
        if (kind === 0) await withPool(observe);
        else if (kind === 1) {
          await withTimeout(1 + this.#pick(40), observe).catch((error) => {
            if (!(error instanceof TooSlowError)) throw error;
          });
        } else await skipAfter(1 + this.#pick(40), observe);
      } finally {
        check(children);
      }
    }
  }
}

/** Every Failure inside nested ErrorGroups, in order. */
function flatten(error: unknown): unknown[] {
  if (error instanceof ErrorGroup) return error.errors.flatMap(flatten);
  return error instanceof Failure ? [error] : [];
}

async function checkRuns(runs: number, virtualTime: boolean): Promise<void> {
  let failedRuns = 0;
  for (let seed = 1; seed <= runs; seed++) {
    const program = new Program(seed);
    const scheduler = new Scheduler({
      ...(virtualTime ? { clock: new MockClock({ autojump: true }) } : {}),
      handleSignals: false,
    });
    let outcome: unknown;
    try {
      await scheduler.run(() => program.task(0, null));
    } catch (error) {
      outcome = error;
      failedRuns++;
    }
    const context = `seed ${seed}`;
    for (const [id, count] of program.finallies) {
      expect(`${context}: task ${id} finally ran ${count}×`).toBe(
        `${context}: task ${id} finally ran 1×`,
      );
    }
    expect(program.outlived).toEqual([]);
    // A cancellation escaping the root would mean a scope lost track of what it caused.
    expect(outcome).not.toBeInstanceOf(CancelledError);
    if (outcome !== undefined && !(outcome instanceof ErrorGroup)) {
      expect(outcome).toBeInstanceOf(Failure);
    }
    const reported = outcome === undefined ? [] : flatten(outcome);
    expect(new Set(reported).size).toBe(reported.length);
    expect(new Set(reported)).toEqual(new Set(program.raised));
  }
  // The generator must actually exercise failures, or the checks above prove little.
  expect(failedRuns).toBeGreaterThan(runs / 10);
  expect(failedRuns).toBeLessThan(runs);
}

describe("randomized task trees", () => {
  test(
    `${RUNS} seeded runs on virtual time keep every invariant`,
    () => checkRuns(RUNS, true),
    60_000,
  );

  test("20 seeded runs on the real clock keep every invariant", () => checkRuns(20, false), 30_000);
});
