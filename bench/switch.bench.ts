/**
 * Task switches: two tasks ping-ponging through `checkpoint()` vs two async functions handing
 * a promise resolver back and forth (one promise, one resolve and one resumption per switch,
 * the least a switch between two async functions can cost). Also the same ping-pong with a
 * debugger whose hooks are all empty vs with none, the price of the hook sites when used, and
 * with none vs a copy of the scheduler that has no hook sites at all (bench/without-hooks.ts),
 * their price when unused.
 *
 * Each `ours` call is one complete `run()` of `turns` laps per task (2 × turns switches); the
 * loop's setup, a few µs, is spread over 100,000 switches. A long-lived run shared across
 * calls would put mitata's own awaits inside a task, where the loop treats them as foreign
 * promises and schedules extra turns around them.
 */
import { BaseDebugger, checkpoint, run, Scheduler, withPool } from "../src/index.ts";
import { compare, type Row, type Suite, type SuiteOptions } from "./harness.ts";
import { importWithoutHooks } from "./without-hooks.ts";

async function player(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await checkpoint();
}

/** Two tasks each checkpointing `turns` times: every checkpoint switches to the other. */
function pingPong(turns: number, scheduler?: Scheduler): Promise<void> {
  const main = () =>
    withPool((pool) => {
      pool.spawn(player, turns);
      pool.spawn(player, turns);
    });
  return scheduler === undefined ? run(main) : scheduler.run(main);
}

/** The same ping-pong on a copy of giambio built without any debugger hook site. */
async function pingPongWithoutHookSites(turns: number): Promise<() => Promise<void>> {
  const bare = await importWithoutHooks();
  const bareCheckpoint = bare.checkpoint;
  const barePlayer = async () => {
    for (let i = 0; i < turns; i++) await bareCheckpoint();
  };
  return () =>
    bare.run(() =>
      bare.withPool((pool) => {
        pool.spawn(barePlayer);
        pool.spawn(barePlayer);
      }),
    );
}

/** The hand-written switch: each side wakes the other's resolver, then waits on its own. */
async function rawPingPong(turns: number): Promise<void> {
  let parked: (() => void) | null = null;
  const rawPlayer = async () => {
    for (let i = 0; i < turns; i++) {
      const wakeOther = parked;
      const mine = new Promise<void>((resolve) => {
        parked = resolve;
      });
      wakeOther?.();
      await mine;
    }
    // The other side is parked on its last turn; let it finish.
    (parked as (() => void) | null)?.();
  };
  await Promise.all([rawPlayer(), rawPlayer()]);
}

/**
 * A debugger that listens to every event and does nothing with it. Measured last: once a
 * debugger has run, the JIT keeps the hook paths compiled in, which would tax the rows after.
 */
class SilentDebugger extends BaseDebugger {}

export const suite: Suite = {
  name: "switch",
  async run(options: SuiteOptions): Promise<Row[]> {
    const turns = options.quick ? 1_000 : 50_000;
    const switches = 2 * turns;
    return [
      await compare(
        {
          operation: "task switch (checkpoint ping-pong)",
          unit: "ns/switch",
          unitsPerCall: switches,
          ours: () => pingPong(turns),
          baseline: () => rawPingPong(turns),
          target: { ratio: 2 },
        },
        options,
      ),
      await compare(
        {
          operation: "task switch, no debugger vs no hook sites",
          unit: "ns/switch",
          unitsPerCall: switches,
          ours: () => pingPong(turns),
          baseline: await pingPongWithoutHookSites(turns),
          target: { ratio: 1.02 },
        },
        options,
      ),
      await compare(
        {
          operation: "task switch, empty debugger vs none",
          unit: "ns/switch",
          unitsPerCall: switches,
          ours: () => pingPong(turns, new Scheduler({ debugger: new SilentDebugger() })),
          baseline: () => pingPong(turns, new Scheduler()),
        },
        options,
      ),
    ];
  },
};
