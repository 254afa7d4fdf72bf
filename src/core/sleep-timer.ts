/**
 * The timer entry of a sleeping task: it sits on the scheduler's timer queue and is the
 * task's blocker at the same time. One per task, created at its first sleep and reused for
 * every later one, so a task that sleeps in a loop allocates nothing per sleep.
 */
import type { Blocker } from "./park.ts";
import type { Loop } from "./scheduler.ts";
import type { TaskInternal } from "./task.ts";
import type { TimerEntry } from "./timers.ts";

export class SleepTimer implements TimerEntry, Blocker {
  deadline = 0;
  timerBucket: object | null = null;
  timerSlot = 0;
  /** The duration asked for, for deadlock reports and the debugger. */
  requested = 0;
  /** When the sleep began (read only with a debugger installed). */
  startedAt = 0;
  readonly external = false;
  readonly cancellable = true;

  constructor(
    readonly scheduler: Loop,
    readonly task: TaskInternal,
  ) {}

  fire(): void {
    this.scheduler.sleepEnded(this);
    this.scheduler.wake(this.task, undefined);
  }

  abortWait(): void {
    this.scheduler.removeTimer(this);
    this.scheduler.sleepEnded(this);
  }

  describeWait(): string {
    return `sleep(${this.requested})`;
  }
}
