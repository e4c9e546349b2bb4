/**
 * What every `QueryBus` implementation does with a query's results: a handler's return value as a list of
 * responses, and the live result of a subscription query (its initial responses, then its updates).
 *
 * @module
 */
import type { Message } from "@bufbuild/protobuf";
import type { Channel } from "../core/channel.ts";

/**
 * A live query: its initial responses and the updates that follow.
 *
 * @example
 * ```ts
 * import type { SubscriptionQueryResult } from "../mod.ts";
 * const watch = async (live: SubscriptionQueryResult, show: (response: unknown) => void) => {
 *   live.initial.forEach(show);
 *   for await (const update of live.updates) show(update); // until live.close()
 * };
 * ```
 */
export interface SubscriptionQueryResult {
  /** The responses to the query as it was when subscribed. */
  readonly initial: readonly Message[];
  /** Ends when the handler side completes it, the caller's signal aborts, or `close()` is called. */
  readonly updates: AsyncIterable<Message>;
  /** Ends the subscription. */
  close(): void;
}

/**
 * The second half of every `subscriptionQuery`: with the subscription already feeding `updates`, collects the
 * initial result (asked for after subscribing, so no update falls between the two) and returns the live result;
 * iterating the updates to the end, aborting `signal` or calling `close` ends the subscription. `taken` is called
 * each time the consumer has taken an update and asks for the next (flow control by consumption).
 */
export async function subscriptionResult(
  initial: AsyncIterable<Message>,
  updates: Channel<Message>,
  close: () => void,
  signal?: AbortSignal,
  taken?: () => void,
): Promise<SubscriptionQueryResult> {
  try {
    const responses: Message[] = [];
    for await (const response of initial) responses.push(response);
    const live = async function* (): AsyncIterable<Message> {
      try {
        for await (const update of updates.iterate(signal)) {
          yield update;
          taken?.();
        }
      } finally {
        close();
      }
    };
    return { initial: responses, updates: live(), close };
  } catch (error) {
    close();
    throw error;
  }
}

/** Normalizes a handler's return value into a list. */
export function responsesOf(result: Message | readonly Message[] | undefined): readonly Message[] {
  if (result === undefined) return [];
  return Array.isArray(result) ? result : [result as Message];
}
