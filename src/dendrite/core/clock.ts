/**
 * The Clock port: what time it is and how to wait. Parts that judge time (claims, back-offs, flush timers,
 * timeouts) take a Clock so that tests can drive time instead of sleeping; `systemClock` is the real one.
 *
 * @module
 */
import { delay } from "./async.ts";

/**
 * Reads the time and waits.
 *
 * @example
 * ```ts
 * import type { Clock } from "../mod.ts";
 * // A clock that never waits, for a quick check:
 * const frozen: Clock = {
 *   now: () => 1_700_000_000_000,
 *   sleep: (_ms, signal) => signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve(),
 * };
 * await frozen.sleep(5_000); // returns at once
 * ```
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The wall clock: `Date.now` and timers.
 *
 * @example
 * ```ts
 * import { systemClock } from "./clock.ts";
 * const before = systemClock.now();
 * await systemClock.sleep(1);
 * console.log(systemClock.now() >= before); // true
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, signal),
};
