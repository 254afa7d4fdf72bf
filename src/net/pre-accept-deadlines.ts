/**
 * Time limits on connections that have not reached the listener yet: the PROXY header
 * (`proxyProtocol.timeout`) and the TLS handshake (`handshakeTimeout`). No handler sees such
 * a connection, so user code cannot time it out; without a limit a peer that sends nothing
 * would hold a socket for as long as the listener is open.
 *
 * One timer per limit, not one per connection: every connection under a limit gets the same
 * duration, so the order they were added in is the order they expire in, and the timer only
 * ever waits for the oldest one. Adding, finishing and expiring are O(1).
 */

/** setTimeout's longest delay (a 32-bit signed count of ms); longer ones fire at once. */
const MAX_TIMER_DELAY = 0x7fffffff;

export class PreAcceptDeadlines<Item> {
  readonly #duration: number;
  readonly #expire: (item: Item) => void;
  /** Each pending item and its deadline, oldest first (Maps keep insertion order). */
  readonly #deadlines = new Map<Item, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `expire(item)` runs for each item still pending `duration` ms after it was added. */
  constructor(duration: number, expire: (item: Item) => void) {
    this.#duration = duration;
    this.#expire = expire;
  }

  get size(): number {
    return this.#deadlines.size;
  }

  /** Starts `item`'s clock. With an infinite duration it never expires (still tracked). */
  add(item: Item): void {
    this.#deadlines.set(item, performance.now() + this.#duration);
    if (this.#timer === undefined && Number.isFinite(this.#duration)) this.#arm();
  }

  /**
   * `item` finished (or went away) in time. False when it was not pending (never added,
   * already deleted, expired or drained).
   */
  delete(item: Item): boolean {
    const pending = this.#deadlines.delete(item);
    if (this.#deadlines.size === 0) this.#disarm();
    return pending;
  }

  /** The items still pending, oldest first, all forgotten (for a listener's close). */
  drain(): Item[] {
    const items = [...this.#deadlines.keys()];
    this.#deadlines.clear();
    this.#disarm();
    return items;
  }

  #arm(): void {
    const first = this.#deadlines.values().next();
    if (first.done) return;
    const delay = Math.min(Math.max(0, first.value - performance.now()), MAX_TIMER_DELAY);
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const [item, deadline] of this.#deadlines) {
      if (deadline > now) break;
      this.#deadlines.delete(item);
      this.#expire(item);
    }
    // expire() may have added or deleted items (and so armed the timer again).
    if (this.#timer === undefined) this.#arm();
  }
}
