/**
 * Waiting in processor tests without polling: re-check a condition at every change a processor reports
 * (`changed()`: progress, ownership, stored tokens), or move a `ManualClock` forward step by step. Both are
 * bounded and fail with what was awaited.
 *
 * @module
 */
import type { ManualClock } from "../../src/dendrite/testing/manual_clock.ts";
import { AssertionError } from "../assert.ts";

/** Anything with a `changed()` hook, like `TrackingProcessor`. */
export interface Changing {
  changed(signal?: AbortSignal): Promise<void>;
}

/**
 * Resolves once `condition` holds, checking it now and after every change any of `sources` reports; fails after
 * `timeoutMs` (a bound for a broken build, never a pause).
 */
export async function whenChanged(
  sources: readonly Changing[],
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const done = new AbortController();
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([done.signal, timeout]);
  try {
    for (;;) {
      // Listen before checking, so a change during an async check is not missed.
      const waits = sources.map((source) => source.changed(signal));
      for (const wait of waits) wait.catch(() => undefined);
      if (await condition()) return;
      await Promise.race(waits).catch((error) => {
        if (timeout.aborted) throw new AssertionError({ message: `No ${what} within ${timeoutMs} ms` });
        throw error;
      });
    }
  } finally {
    done.abort();
  }
}

/** Moves `clock` forward in `stepMs` steps until `condition` holds; fails after `limitMs` of clock time. */
export async function advanceUntil(
  clock: ManualClock,
  condition: () => boolean | Promise<boolean>,
  what: string,
  stepMs: number,
  limitMs: number,
): Promise<void> {
  const deadline = clock.now() + limitMs;
  while (!(await condition())) {
    if (clock.now() >= deadline) {
      throw new AssertionError({ message: `No ${what} within ${limitMs} ms of clock time` });
    }
    await clock.advance(stepMs);
  }
}
