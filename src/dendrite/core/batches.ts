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
 * Yields arrays of 1..`max` items.
 *
 * @example
 * ```ts
 * import { readyBatches } from "./batches.ts";
 * async function* numbers() { yield 1; yield 2; yield 3; }
 * for await (const batch of readyBatches(numbers(), 2)) console.log(batch); // [1, 2] then [3]
 * ```
 */
export async function* readyBatches<T>(source: AsyncIterable<T>, max: number): AsyncGenerator<T[]> {
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
      const turn = nextTurn();
      while (batch.length < max) {
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
