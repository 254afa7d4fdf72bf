/**
 * Cancel scopes (trio's `CancelScope`). Scopes form a tree that mirrors the structure of the
 * program: the root scope of `run`, a scope per pool (and per `withTimeout`, `skipAfter`,
 * `shield`), and a scope per task so that `task.cancel()` reaches exactly one task.
 *
 * Cancellation is level-triggered: `cancel()` only sets a flag and wakes the tasks that are
 * parked inside the scope right now. Every later checkpoint inside it looks up the tree
 * (`cancelledScope`) and raises `CancelledError` again, until the code leaves the scope.
 * A shielded scope stops both the wake-up walk and the lookup.
 */
import { type CancelReason, cancelledError, DEADLINE, EXPLICIT } from "./cancel-reason.ts";
import type { PoolInternal } from "./pool.ts";
import type { Loop } from "./scheduler.ts";
import type { TaskInternal } from "./task.ts";
import type { TimerEntry } from "./timers.ts";

export abstract class CancelScope {
  /**
   * @internal The task whose code runs directly in this scope: a field of the scopes a task
   * opens (`NestedScope`), the task itself for a task (no slot for it: see task.ts).
   */
  abstract readonly owner: TaskInternal;
  /** @internal Why the scope was cancelled (the first reason given); null while it is not. */
  cancelReason: CancelReason | null = null;
  /** @internal What few scopes and tasks need, allocated on first use (see `ScopeRare`). */
  rare: ScopeRare | null = null;

  // Children are an intrusive doubly linked list: O(1) attach and detach with no allocation,
  // which matters because every spawn creates and later detaches a task scope.
  #firstChild: CancelScope | null = null;
  #next: CancelScope | null = null;
  #prev: CancelScope | null = null;

  constructor(
    /** @internal */ readonly parent: CancelScope | null,
    shielded = false,
  ) {
    if (shielded) this.rareFields().shielded = true;
    if (parent !== null) {
      const first = parent.#firstChild;
      this.#next = first;
      if (first !== null) first.#prev = this;
      parent.#firstChild = this;
    }
  }

  /** @internal A shield: cancellation from outside does not reach in. */
  get shielded(): boolean {
    return this.rare?.shielded ?? false;
  }

  /**
   * @internal The scope's deadline fired. Kept apart from the reason: a deadline passing
   * after an explicit cancel still means "timed out" to `withTimeout`.
   */
  get timedOut(): boolean {
    return this.rare?.timedOut ?? false;
  }

  set timedOut(value: boolean) {
    this.rareFields().timedOut = value;
  }

  /** @internal `rare`, allocated if it is not yet. */
  rareFields(): ScopeRare {
    let rare = this.rare;
    if (rare === null) {
      rare = new ScopeRare();
      this.rare = rare;
    }
    return rare;
  }

  /** @internal Unlinks the scope from its parent when the code that opened it has finished. */
  detach(): void {
    const parent = this.parent;
    if (parent === null || !this.#linked(parent)) return;
    if (this.cancelReason !== null) this.owner.scheduler.cancelledScopes--;
    if (this.#prev !== null) this.#prev.#next = this.#next;
    else if (parent.#firstChild === this) parent.#firstChild = this.#next;
    if (this.#next !== null) this.#next.#prev = this.#prev;
    this.#next = this.#prev = null;
  }

  #linked(parent: CancelScope): boolean {
    return this.#prev !== null || parent.#firstChild === this;
  }

  /**
   * Cancels everything inside: each task parked in this scope or an unshielded descendant is
   * woken with `CancelledError`; tasks that are running see it at their next checkpoint.
   * Returns at once.
   */
  cancel(): void {
    this.cancelWith(EXPLICIT);
  }

  /** @internal `cancel()` recording `reason`; a no-op if the scope is already cancelled. */
  cancelWith(reason: CancelReason): void {
    if (this.cancelReason !== null) return;
    this.cancelReason = reason;
    const scheduler = this.owner.scheduler;
    // Only a scope still in the tree can be found by a checkpoint (see `cancelledScopes`).
    if (this.parent === null || this.#linked(this.parent)) scheduler.cancelledScopes++;
    const stack: CancelScope[] = [this];
    for (let scope = stack.pop(); scope !== undefined; scope = stack.pop()) {
      scope.rare?.controller?.abort(cancelledError(scope.owner, this));
      const owner = scope.owner;
      if (owner.scope === scope) scheduler.cancelWait(owner, this);
      for (let child = scope.#firstChild; child !== null; child = child.#next) {
        // A shielded child is immune; an already cancelled one was handled when it was.
        if (!child.shielded && child.cancelReason === null) stack.push(child);
      }
    }
  }

  /** @internal An AbortSignal aborted when this scope is (effectively) cancelled. */
  signal(): AbortSignal {
    const rare = this.rareFields();
    if (rare.controller === null) {
      rare.controller = new AbortController();
      const cancelled = cancelledScope(this);
      if (cancelled !== null) rare.controller.abort(cancelledError(this.owner, cancelled));
    }
    return rare.controller.signal;
  }

  /** @internal Calls `visit` for each direct child scope, newest first. */
  forEachChild(visit: (child: CancelScope) => void): void {
    for (let child = this.#firstChild; child !== null; child = child.#next) visit(child);
  }

  /** @internal Every scope of the subtree (deadlock reports): `visit` is called once each. */
  walk(visit: (scope: CancelScope) => void): void {
    const stack: CancelScope[] = [this];
    for (let scope = stack.pop(); scope !== undefined; scope = stack.pop()) {
      visit(scope);
      for (let child = scope.#firstChild; child !== null; child = child.#next) stack.push(child);
    }
  }
}

/**
 * The fields of a scope (or task) that few of them need: a shield, a deadline that fired, an
 * `AbortSignal`, a task's sleep timer and joiners, the root's loop. Kept apart so
 * that a task object stays in JSC's 112-byte size class (12 slots; 13 to 18 take 160 bytes),
 * and allocated on first use.
 */
export class ScopeRare {
  shielded = false;
  timedOut = false;
  controller: AbortController | null = null;
  /** A task's sleep timer, reused across its sleeps. */
  sleepTimer: TimerEntry | null = null;
  /** The root task's loop (a child reaches its loop through its pool's scope). */
  loop: Loop | null = null;
  /** Tasks waiting in a task's `join()`. */
  joiners: TaskInternal[] | null = null;
  /** A `join()` of the task from outside the loop. */
  outsideJoin: PromiseWithResolvers<unknown> | null = null;
}

/** A scope a task opens inside its code: a pool's, a deadline's or a shield's. */
export class NestedScope extends CancelScope {
  constructor(
    parent: CancelScope,
    /** @internal */ readonly owner: TaskInternal,
    shielded = false,
  ) {
    super(parent, shielded);
  }
}

/**
 * The scope of a pool: the parent of every task spawned into it. A task reaches its pool and
 * its loop through it, so that the task object itself holds neither (see task.ts).
 */
export class PoolScope extends NestedScope {
  constructor(
    parent: CancelScope,
    owner: TaskInternal,
    /** @internal */ readonly pool: PoolInternal,
    /** @internal */ readonly scheduler: Loop,
  ) {
    super(parent, owner);
  }
}

/**
 * The cancelled scope that applies at `scope`, or null: the nearest cancelled ancestor
 * (or `scope` itself) not hidden behind a shield.
 */
export function cancelledScope(scope: CancelScope): CancelScope | null {
  for (let s: CancelScope | null = scope; s !== null; s = s.parent) {
    if (s.cancelReason !== null) return s;
    if (s.shielded) return null;
  }
  return null;
}

/** A scope's deadline on the timer heap: when it passes, the scope is cancelled. */
export class Deadline implements TimerEntry {
  timerBucket: object | null = null;
  timerSlot = 0;

  constructor(
    readonly scope: CancelScope,
    readonly deadline: number,
  ) {}

  fire(): void {
    this.scope.timedOut = true;
    this.scope.cancelWith(DEADLINE);
  }
}
