/**
 * Riding out an outage of the infrastructure: an operation that fails with a transient error (see
 * `isTransient`: the store, the transport or the server is unavailable) is retried after a capped exponential
 * back-off, for as long as it takes, until it succeeds, fails otherwise, or the signal aborts. Such failures say
 * nothing about the event being handled, so they never count as poison attempts.
 *
 * @module
 */
import { delay } from "../core/async.ts";
import { isTransient } from "../core/errors.ts";

/**
 * Back-off while the infrastructure is unavailable (defaults 200 ms doubling to 10 s).
 *
 * @example
 * ```ts
 * import type { OutageBackoff, ProcessorOptions } from "../mod.ts";
 * // Retry every 1 s, then at most every 60 s, while Elasticsearch is down:
 * const outage: OutageBackoff = { baseDelayMs: 1_000, maxDelayMs: 60_000 };
 * const tune = (options: ProcessorOptions): ProcessorOptions => ({ ...options, outage });
 * ```
 */
export interface OutageBackoff {
  /** Delay before the first retry. */
  readonly baseDelayMs?: number;
  /** Longest delay between retries. */
  readonly maxDelayMs?: number;
}

/**
 * Waits `ms` or rejects when `signal` aborts (injectable for tests; default a timer).
 *
 * @example
 * ```ts
 * import { type Clock, type Sleep, systemClock } from "../mod.ts";
 * // A Sleep that waits on a Clock (a ManualClock in tests):
 * const sleepOn = (clock: Clock): Sleep => (ms, signal) => clock.sleep(ms, signal);
 * await sleepOn(systemClock)(1, AbortSignal.timeout(1_000));
 * ```
 */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The wait before retry number `attempt` (0-based): `baseDelayMs · 2^attempt`, capped at `maxDelayMs`. */
export function outageDelayMs(attempt: number, backoff: OutageBackoff = {}): number {
  const base = Math.max(1, backoff.baseDelayMs ?? 200);
  const max = Math.max(base, backoff.maxDelayMs ?? 10_000);
  return Math.min(max, base * 2 ** Math.min(attempt, 30));
}

export interface RideOutOptions {
  readonly signal: AbortSignal;
  readonly backoff?: OutageBackoff;
  readonly sleep?: Sleep;
  /** Called on every transient failure, before the wait. */
  readonly onOutage: (error: unknown, waitMs: number) => void;
}

/** Runs `operation`, retrying it while it fails transiently; other failures and aborts are thrown. */
export async function rideOut<T>(operation: () => Promise<T>, options: RideOutOptions): Promise<T> {
  const sleep = options.sleep ?? delay;
  for (let attempt = 0;; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (options.signal.aborted || !isTransient(error)) throw error;
      const waitMs = outageDelayMs(attempt, options.backoff);
      options.onOutage(error, waitMs);
      await sleep(waitMs, options.signal);
    }
  }
}
