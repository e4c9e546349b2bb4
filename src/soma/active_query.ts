/**
 * One query in flight in soma's query router: the endpoints it waits for, what it relayed, the error response it
 * holds back (relayed only if nothing succeeds), its timeout, and the stream its caller reads.
 *
 * @module
 */
import { AxonErrorCode } from "../dendrite/mod.ts";
import type { Channel } from "../dendrite/core/channel.ts";
import { errorResult, type QueryResult, type RoutedQuery } from "./query_types.ts";

/** A query waiting in an endpoint's queue. */
export interface QueuedQuery {
  readonly query: RoutedQuery;
  readonly priority: number;
}

/** A query in flight. */
export class ActiveQuery {
  readonly query: RoutedQuery;
  /** Endpoints that have not completed it yet. */
  readonly waiting: Set<string>;
  /** Where it still sits in an endpoint's queue, by endpoint. */
  readonly queued = new Map<string, QueuedQuery>();
  /** Streaming: endpoints it was delivered to. */
  readonly delivered = new Set<string>();
  /** Streaming: the permits the caller granted so far. */
  requested = 0;
  readonly #channel: Channel<QueryResult>;
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  #held: QueryResult | undefined;
  #relayed = 0;

  /** Starts the timeout: at the deadline, `onTimeout` runs after the held error (or a timeout) is relayed. */
  constructor(
    query: Omit<RoutedQuery, "signal">,
    channel: Channel<QueryResult>,
    targets: readonly string[],
    onTimeout: () => void,
  ) {
    this.query = { ...query, signal: this.#controller.signal };
    this.#channel = channel;
    this.waiting = new Set(targets);
    this.#timer = setTimeout(() => {
      if (this.#relayed === 0) {
        channel.push(
          this.#held ?? errorResult(AxonErrorCode.QUERY_TIMEOUT, `Query "${query.name}" timed out`),
        );
      }
      onTimeout();
    }, Math.max(0, query.deadline - Date.now()));
  }

  /** A response: relayed at once when it succeeded, held back when it is an error. */
  accept(result: QueryResult): void {
    if (result.error) {
      this.#held = result;
      return;
    }
    this.#held = undefined;
    this.#relayed++;
    this.#channel.push(result);
  }

  /** Endpoint `streamId` completed; true when it was the last (then the held error is relayed if nothing was). */
  completeOne(streamId: string): boolean {
    this.waiting.delete(streamId);
    if (this.waiting.size > 0) return false;
    if (this.#relayed === 0 && this.#held) this.#channel.push(this.#held);
    return true;
  }

  /** Ends it: no timeout, handlers see the abort, the caller's stream ends. */
  end(): void {
    clearTimeout(this.#timer);
    this.#controller.abort(new DOMException("The query ended", "AbortError"));
    this.#channel.close();
  }
}
