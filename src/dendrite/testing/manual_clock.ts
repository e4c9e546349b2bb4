/**
 * A clock that moves only when the test says so: `advance(ms)` wakes the sleepers that fall due, in order, and
 * lets the work they start run before it goes on. Claims, back-offs and flush timers become deterministic.
 *
 * @module
 */
import { abortReason } from "../core/errors.ts";
import type { Clock } from "../core/clock.ts";

interface Sleeper {
  readonly at: number;
  readonly order: number;
  readonly wake: () => void;
}

/**
 * A {@link Clock} for tests.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./manual_clock.ts";
 * const clock = new ManualClock(1_000);
 * let woke = false;
 * const sleeping = clock.sleep(50).then(() => (woke = true));
 * await clock.advance(49);
 * console.log(woke); // false
 * await clock.advance(1);
 * await sleeping;
 * console.log(woke, clock.now()); // true 1050
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  readonly #sleepers = new Set<Sleeper>();

  /** A clock standing at `start` (epoch ms) until advanced. */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The clock's time: `start` plus every advance. */
  now(): number {
    return this.#now;
  }

  /** How many sleeps are waiting. */
  get sleeping(): number {
    return this.#sleepers.size;
  }

  /** Resolves once the clock has been advanced by `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = () => {
        this.#sleepers.delete(sleeper);
        reject(abortReason(signal!));
      };
      const sleeper: Sleeper = {
        at: this.#now + Math.max(0, ms),
        order: this.#order++,
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.#sleepers.add(sleeper);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Moves the time forward by `ms`: every sleeper due by then wakes at its own time, earliest first, and what it
   * starts runs (until it awaits something other than promises) before the next one wakes.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + Math.max(0, ms);
    await settle();
    for (let next = this.#due(target); next; next = this.#due(target)) {
      this.#sleepers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.wake();
      await settle();
    }
    this.#now = target;
  }

  #due(target: number): Sleeper | undefined {
    let first: Sleeper | undefined;
    for (const sleeper of this.#sleepers) {
      if (sleeper.at > target) continue;
      if (!first || sleeper.at < first.at || (sleeper.at === first.at && sleeper.order < first.order)) {
        first = sleeper;
      }
    }
    return first;
  }
}

/** Lets every promise chain that is ready run to its next real wait (one macrotask turn). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
