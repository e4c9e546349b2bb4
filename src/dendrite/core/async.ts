/**
 * Small cancellation-aware async helpers used across dendrite.
 *
 * @module
 */
import { abortReason } from "./errors.ts";

/** Resolves after `ms` milliseconds, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Exponential back-off with full jitter: attempt 0 → up to `baseMs`, doubling up to `maxMs`. */
export function backoff(attempt: number, baseMs = 50, maxMs = 5_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.max(1, Math.round(ceiling / 2 + Math.random() * ceiling / 2));
}

/** A signal that aborts when any of `signals` aborts or after `timeoutMs` (when given). */
export function combineSignals(
  signals: readonly (AbortSignal | undefined)[],
  timeoutMs?: number,
): AbortSignal {
  const all = signals.filter((s): s is AbortSignal => s !== undefined);
  if (timeoutMs !== undefined) all.push(AbortSignal.timeout(timeoutMs));
  if (all.length === 1) return all[0];
  return AbortSignal.any(all);
}

/**
 * A one-shot wake-up: `wait()` resolves at the next `notify()` (or when the signal aborts).
 * Used for live tails: readers wait, writers notify after commit.
 */
export class Notifier {
  #waiters = new Set<() => void>();

  /** Wakes every current waiter. */
  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Waits for the next `notify()`. Rejects with the signal's reason on abort. */
  wait(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(abortReason(signal!));
      };
      this.#waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/**
 * Runs tasks for the same key one after another (an in-process lock per key, e.g. per aggregate id).
 * Keys with no pending task hold no memory.
 */
export class KeyedMutex {
  #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    try {
      if (previous) await previous;
      return await task();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/** Settles like `promise`, or rejects with the signal's reason as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
