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

/** A signal for one piece of work, and how to let go of what it holds once the work is over. */
export interface ScopedSignal {
  /** Aborts when one of the given signals aborts, or when the timeout passes. */
  readonly signal: AbortSignal;
  /** Stops the timer and the listening on the given signals; call it when the work ends (the signal stays as it is). */
  done(): void;
}

const NOTHING_TO_RELEASE = () => {};

/**
 * A signal that aborts when any of `signals` aborts (with its reason) or after `timeoutMs` (when given, with a
 * `TimeoutError` `DOMException`, as `AbortSignal.timeout` would), until {@link ScopedSignal.done} is called.
 *
 * Not `AbortSignal.timeout` and `AbortSignal.any`: a timeout signal is held by its timer for the whole timeout
 * (30 s per command by default), with whatever it references, and a signal made by `any` stays listed on
 * long-lived parents (a connection's) until the garbage collector finds it. Under load every call's signal lived
 * on into the old generation: a local command bus with a trivial handler spent over a quarter of its time in
 * young collections of 17 ms each (3.5 ms with this; docs/api.md). Here the timer is cleared and the listeners
 * removed as soon as the work ends.
 *
 * @example
 * ```ts
 * import { scopedSignal } from "./async.ts";
 * const caller = new AbortController();
 * const scope = scopedSignal([caller.signal], 5_000);
 * try {
 *   await Promise.resolve("work that watches scope.signal");
 * } finally {
 *   scope.done();
 * }
 * ```
 */
export function scopedSignal(
  signals: readonly (AbortSignal | undefined)[],
  timeoutMs?: number,
): ScopedSignal {
  const parents = signals.filter((s): s is AbortSignal => s !== undefined);
  if (timeoutMs === undefined && parents.length === 1) {
    return { signal: parents[0], done: NOTHING_TO_RELEASE };
  }
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const listeners = parents.map((parent) => () => abort(parent.reason));
  const done = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    parents.forEach((parent, i) => parent.removeEventListener("abort", listeners[i]));
  };
  const abort = (reason: unknown) => {
    done();
    controller.abort(reason);
  };
  const aborted = parents.find((parent) => parent.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    return { signal: controller.signal, done: NOTHING_TO_RELEASE };
  }
  parents.forEach((parent, i) => parent.addEventListener("abort", listeners[i], { once: true }));
  if (timeoutMs !== undefined) {
    // Not unref'd: the work it bounds keeps the process alive until it ends or times out (done() clears it).
    timer = setTimeout(() => abort(new DOMException("Signal timed out.", "TimeoutError")), timeoutMs);
  }
  return { signal: controller.signal, done };
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
