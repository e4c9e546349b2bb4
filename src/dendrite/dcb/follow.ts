/**
 * The live tail shared by the local DCB stores: read a page of matching events, yield it, and when the head is
 * reached wait for the next append. The page is read synchronously and the waiter registered right after it, so
 * no append of this process can fall between the two.
 *
 * @module
 */
import type { Notifier } from "../core/async.ts";
import type { SequencedEvent } from "./dcb_event_store.ts";

/** Events matching the stream's criteria from `from`, at most `limit` of them. */
export type PageReader = (from: number, limit: number) => SequencedEvent[];

/** Yields every event `read` returns from `from` on, then waits on `appended` for more; ends when `signal` aborts. */
export async function* follow(
  read: PageReader,
  appended: Notifier,
  from: number,
  signal?: AbortSignal,
  limit = 256,
): AsyncIterable<SequencedEvent> {
  let next = from;
  while (!signal?.aborted) {
    const page = read(next, limit);
    // Settles false on abort, so a waiter left behind by a consumer that stopped early rejects nothing.
    const woken = page.length < limit ? appended.wait(signal).then(() => true, () => false) : undefined;
    for (const event of page) {
      yield event;
      next = event.sequence + 1;
    }
    if (!woken) continue;
    if (!(await woken)) return;
  }
}
