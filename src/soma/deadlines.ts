/**
 * Deadlines for many waiting calls on few timers. A command waits for its handler with a timeout, and nearly all
 * commands share one timeout value, so their deadlines arrive in the order they were set: one queue per timeout
 * value (a linked list, so a call that ends early leaves in O(1)) and one timer per queue, armed for its head.
 * A timer per command cost ~4% of soma's CPU under load (Deno's timers allocate an object and an id per call).
 *
 * @module
 */

/** A deadline that can be cancelled. */
export interface Deadline {
  /** Cancels it (nothing happens when it has fired or was cancelled). */
  cancel(): void;
}

/** One waiting call in a queue (a node of its doubly linked list). */
class Entry implements Deadline {
  prev: Entry | undefined;
  next: Entry | undefined;
  constructor(
    readonly lane: Lane,
    readonly at: number,
    readonly fire: () => void,
  ) {}
  cancel(): void {
    this.lane.remove(this);
  }
}

/** The deadlines of one timeout value, earliest first, with the timer of the earliest. */
class Lane {
  #head: Entry | undefined;
  #tail: Entry | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #size = 0;

  constructor(readonly now: () => number, readonly onEmpty: () => void) {}

  get size(): number {
    return this.#size;
  }

  add(at: number, fire: () => void): Entry {
    const entry = new Entry(this, at, fire);
    entry.prev = this.#tail;
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
    this.#size++;
    if (this.#timer === undefined) this.#arm(at);
    return entry;
  }

  remove(entry: Entry): void {
    if (entry.prev === undefined && this.#head !== entry) return; // gone already
    if (entry.prev) entry.prev.next = entry.next;
    else this.#head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#tail = entry.prev;
    entry.prev = entry.next = undefined;
    this.#size--;
    // The timer stays: when it fires early it re-arms for the head then (cheaper than re-arming on every call).
    if (this.#size === 0) {
      this.#disarm();
      this.onEmpty();
    }
  }

  /** Fires what is due, then arms for the next. */
  #expire = (): void => {
    this.#timer = undefined;
    const now = this.now();
    while (this.#head && this.#head.at <= now) {
      const due = this.#head;
      this.remove(due);
      due.fire();
    }
    if (this.#head) this.#arm(this.#head.at);
  };

  #arm(at: number): void {
    this.#timer = setTimeout(this.#expire, Math.max(0, at - this.now()));
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Whether its timer is armed. */
  get armed(): boolean {
    return this.#timer !== undefined;
  }
}

/**
 * Deadlines grouped by timeout value, each group in one FIFO with one timer.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 * const deadlines = new Deadlines();
 * const deadline = deadlines.after(30_000, () => console.log("timed out"));
 * deadline.cancel(); // the call ended in time
 * ```
 */
export class Deadlines {
  readonly #lanes = new Map<number, Lane>();
  readonly #now: () => number;

  /** `now`: a monotonic clock in milliseconds (default `performance.now`). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Calls `fire` once `timeoutMs` have passed, unless cancelled first. */
  after(timeoutMs: number, fire: () => void): Deadline {
    let lane = this.#lanes.get(timeoutMs);
    if (!lane) {
      // An empty lane is dropped: callers choosing arbitrary timeouts leave nothing behind.
      lane = new Lane(this.#now, () => this.#lanes.delete(timeoutMs));
      this.#lanes.set(timeoutMs, lane);
    }
    return lane.add(this.#now() + timeoutMs, fire);
  }

  /** How many deadlines wait. */
  get size(): number {
    let size = 0;
    for (const lane of this.#lanes.values()) size += lane.size;
    return size;
  }

  /** How many timers are armed (one per timeout value with waiting deadlines). */
  get timers(): number {
    let timers = 0;
    for (const lane of this.#lanes.values()) if (lane.armed) timers++;
    return timers;
  }

  /** How many timeout values have waiting deadlines. */
  get lanes(): number {
    return this.#lanes.size;
  }
}
