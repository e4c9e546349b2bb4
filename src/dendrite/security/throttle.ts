/**
 * Back-off after failures, per key (e.g. a login identifier or a client address): the first `freeFailures`
 * failures cost nothing, each one after doubles the wait (`baseDelayMs`, 2×, 4×, … up to `maxDelayMs`);
 * a success clears the key. While a key waits, every attempt is refused before any work is done, so the right
 * password is refused too until the wait is over. Memory is bounded: keys idle for `forgetAfterMs` are dropped,
 * and beyond `maxKeys` the oldest key is dropped.
 *
 * @module
 */
import type { Clock } from "./jwt.ts";

/**
 * The knobs of a {@link BackOff}.
 *
 * @example
 * ```ts
 * import { BackOff, type BackOffOptions } from "./mod.ts";
 * // Three free failures, then 2 s, 4 s, … up to 5 min per login name:
 * const options: BackOffOptions = { freeFailures: 3, baseDelayMs: 2_000, maxDelayMs: 300_000 };
 * const logins = new BackOff(options);
 * if (logins.waitMs("alice") > 0) console.log("Try again later");
 * ```
 */
export interface BackOffOptions {
  /** Failures allowed before the first wait (default 5). */
  readonly freeFailures?: number;
  /** The first wait (default 1 s); it doubles with each further failure. */
  readonly baseDelayMs?: number;
  /** The longest wait (default 15 min). */
  readonly maxDelayMs?: number;
  /** A key without a failure for this long is forgotten (default: twice `maxDelayMs`). */
  readonly forgetAfterMs?: number;
  /** At most this many keys are remembered (default 100 000). */
  readonly maxKeys?: number;
  /** The clock waits are judged by (default Date.now). */
  readonly clock?: Clock;
}

interface Entry {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

/**
 * Refused because of too many attempts; `retryAfterMs` says when to try again.
 *
 * @example
 * ```ts
 * import { TooManyAttemptsError } from "./throttle.ts";
 * const error = new TooManyAttemptsError("Too many failed logins", 4_000);
 * console.log(error.retryAfterSeconds); // 4
 * ```
 */
export class TooManyAttemptsError extends Error {
  /** How long to wait before trying again. */
  readonly retryAfterMs: number;

  /** Refused with `message`; try again after `retryAfterMs`. */
  constructor(message: string, retryAfterMs: number) {
    super(`${message}; retry after ${Math.ceil(retryAfterMs / 1_000)} s`);
    this.name = "TooManyAttemptsError";
    this.retryAfterMs = retryAfterMs;
  }

  /** The wait in whole seconds, rounded up (for a `retry-after` header). */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1_000));
  }
}

/**
 * Exponential back-off per key.
 *
 * @example
 * ```ts
 * import { BackOff } from "./throttle.ts";
 * const perUser = new BackOff({ freeFailures: 1, baseDelayMs: 1_000 });
 * perUser.failure("bob");
 * perUser.failure("bob");
 * console.log(perUser.waitMs("bob") > 0); // true
 * perUser.success("bob");
 * console.log(perUser.waitMs("bob")); // 0
 * ```
 */
export class BackOff {
  readonly #entries = new Map<string, Entry>();
  readonly #free: number;
  readonly #base: number;
  readonly #max: number;
  readonly #forgetAfter: number;
  readonly #maxKeys: number;
  readonly #clock: Clock;
  #nextSweep = 0;

  /** A back-off with no failures recorded. */
  constructor(options: BackOffOptions = {}) {
    this.#free = options.freeFailures ?? 5;
    this.#base = options.baseDelayMs ?? 1_000;
    this.#max = options.maxDelayMs ?? 15 * 60_000;
    this.#forgetAfter = options.forgetAfterMs ?? 2 * this.#max;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** How long `key` must still wait (0: it may try now). */
  waitMs(key: string): number {
    const entry = this.#entries.get(key);
    return entry ? Math.max(0, entry.blockedUntil - this.#clock()) : 0;
  }

  /** Counts a failure; returns the wait it starts (0 while failures are free). */
  failure(key: string): number {
    const now = this.#clock();
    this.#sweep(now);
    const entry = this.#entries.get(key) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
    this.#entries.delete(key); // re-inserted last: the Map's order is the order of last failure
    entry.failures++;
    entry.lastFailure = now;
    const over = entry.failures - this.#free;
    if (over > 0) {
      entry.blockedUntil = now + Math.min(this.#max, this.#base * 2 ** Math.min(over - 1, 40));
    }
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value!);
    return Math.max(0, entry.blockedUntil - now);
  }

  /** Clears `key` after a success. */
  success(key: string): void {
    this.#entries.delete(key);
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.#entries.size;
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 60_000;
    for (const [key, entry] of this.#entries) {
      if (now - entry.lastFailure < this.#forgetAfter) break; // ordered by last failure
      this.#entries.delete(key);
    }
  }
}
