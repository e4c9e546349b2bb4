/**
 * Groups an async stream into batches of what is ready now: a batch ends when `max` items are taken or when the
 * next item is not available within the current turn of the event loop. A live tail therefore never waits to
 * fill a batch, and a catch-up read (items ready back to back) gets full batches.
 *
 * @module
 */
import { setImmediate } from "node:timers";

const NOT_READY: unique symbol = Symbol("not ready");

function nextTurn(): Promise<typeof NOT_READY> {
  return new Promise((resolve) => setImmediate(() => resolve(NOT_READY)));
}

/**
 * Yields arrays of 1..`max` items; with `size`, a batch takes items while their sizes sum to less than `max`.
 *
 * @example
 * ```ts
 * import { readyBatches } from "./batches.ts";
 * async function* numbers() { yield 1; yield 2; yield 3; }
 * for await (const batch of readyBatches(numbers(), 2)) console.log(batch); // [1, 2] then [3]
 * ```
 */
export async function* readyBatches<T>(
  source: AsyncIterable<T>,
  max: number,
  size: (item: T) => number = () => 1,
): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  let done = false;
  try {
    while (true) {
      const first = await (pending ?? iterator.next());
      pending = undefined;
      if (first.done) {
        done = true;
        return;
      }
      const batch = [first.value];
      let total = size(first.value);
      const turn = nextTurn();
      while (total < max) {
        const next = iterator.next();
        const result = await Promise.race([next, turn]);
        if (result === NOT_READY) {
          pending = next;
          break;
        }
        if (result.done) {
          done = true;
          break;
        }
        batch.push(result.value);
        total += size(result.value);
      }
      yield batch;
      if (done) return;
    }
  } finally {
    if (!done) {
      if (pending) {
        // An async generator runs return() only after its pending next() settles (for a live tail: when its
        // signal aborts), so close it then instead of waiting here.
        pending.then(() => iterator.return?.(), () => undefined).catch(() => undefined);
      } else {
        await iterator.return?.();
      }
    }
  }
}

/**
 * Joins pages (arrays of items) that are ready back to back into batches: pages are added while the batch holds
 * fewer than `max` items (so a batch has at most `max - 1` plus one page). Like {@link readyBatches}, a batch
 * ends when the next page is not available within the current turn of the event loop, so a live tail is never
 * held back.
 */
export async function* readyPages<T>(
  source: AsyncIterable<readonly T[]>,
  max: number,
): AsyncGenerator<readonly T[]> {
  for await (const group of readyBatches(source, max, (page) => page.length)) {
    yield group.length === 1 ? group[0] : group.flat();
  }
}
