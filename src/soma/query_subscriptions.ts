/**
 * The live subscription queries of soma's query router: each is forwarded to every gRPC endpoint subscribed to its
 * query name (also to those that subscribe later), and those endpoints hear `unsubscribe` when it ends.
 *
 * When an endpoint a subscription was forwarded to is lost while still subscribed to its query (its connection
 * dropped, or soma dropped it for a missed heartbeat), the subscription completes exceptionally with AXONIQ-4001:
 * updates the handler sent into the broken connection are gone, and a subscriber that went on would miss them
 * without knowing. It subscribes again and starts from a fresh initial result. A handler that unsubscribes
 * first (a clean shutdown) leaves the subscription to the other handlers.
 *
 * @module
 */
import type { HandlingError } from "./commands.ts";
import type { QueryEndpoint, SubscriptionInfo, SubscriptionSink } from "./query_types.ts";

interface LiveSubscription {
  readonly info: SubscriptionInfo;
  readonly sink: SubscriptionSink;
  /** The endpoints it was forwarded to. */
  readonly forwardedTo: Set<string>;
}

/** The table of live subscription queries. */
export class QuerySubscriptions {
  readonly #live = new Map<string, LiveSubscription>();
  readonly #endpoint: (streamId: string) => QueryEndpoint | undefined;

  /** `endpoint` finds a connected endpoint by stream id. */
  constructor(endpoint: (streamId: string) => QueryEndpoint | undefined) {
    this.#endpoint = endpoint;
  }

  /** Number of live subscriptions. */
  get size(): number {
    return this.#live.size;
  }

  /** Registers a subscription and forwards it to the endpoints `targets`; false for a duplicate id. */
  open(info: SubscriptionInfo, sink: SubscriptionSink, targets: readonly string[]): boolean {
    if (this.#live.has(info.id)) return false;
    const subscription: LiveSubscription = { info, sink, forwardedTo: new Set() };
    this.#live.set(info.id, subscription);
    for (const streamId of targets) this.#forward(subscription, streamId, this.#endpoint(streamId));
    return true;
  }

  /** Ends a subscription (its caller unsubscribed or went away): its endpoints get `unsubscribe`. */
  close(id: string): void {
    const subscription = this.#live.get(id);
    if (!subscription) return;
    this.#live.delete(id);
    for (const streamId of subscription.forwardedTo) {
      this.#endpoint(streamId)?.forwardSubscription?.("unsubscribe", subscription.info);
    }
  }

  /** The sink of a live subscription, if any. */
  sink(id: string): SubscriptionSink | undefined {
    return this.#live.get(id)?.sink;
  }

  /** The live subscriptions of a query name. */
  named(query: string): { readonly info: SubscriptionInfo; readonly sink: SubscriptionSink }[] {
    return [...this.#live.values()].filter((s) => s.info.query.name === query);
  }

  /** An endpoint subscribed to `query`: forwards it the live subscriptions of that name. */
  forwardExisting(streamId: string, endpoint: QueryEndpoint, query: string): void {
    if (!endpoint.forwardSubscription) return;
    for (const subscription of this.#live.values()) {
      if (subscription.info.query.name === query) this.#forward(subscription, streamId, endpoint);
    }
  }

  /**
   * An endpoint was lost while subscribed to `queries`: the subscriptions of those names forwarded to it complete
   * exceptionally with `error`, and the other endpoints they were forwarded to hear `unsubscribe`.
   */
  lost(streamId: string, queries: ReadonlySet<string>, error: HandlingError): void {
    const affected = [...this.#live.values()].filter((subscription) =>
      subscription.forwardedTo.has(streamId) && queries.has(subscription.info.query.name)
    );
    this.forget(streamId);
    for (const subscription of affected) {
      this.close(subscription.info.id);
      subscription.sink.completeExceptionally(error);
    }
  }

  /** An endpoint is gone: nothing is forwarded to it any more. */
  forget(streamId: string): void {
    for (const subscription of this.#live.values()) subscription.forwardedTo.delete(streamId);
  }

  /** Completes every subscription (server shutdown). */
  completeAll(): void {
    for (const subscription of [...this.#live.values()]) {
      this.#live.delete(subscription.info.id);
      subscription.sink.complete();
    }
  }

  #forward(subscription: LiveSubscription, streamId: string, endpoint: QueryEndpoint | undefined): void {
    if (!endpoint?.forwardSubscription) return;
    subscription.forwardedTo.add(streamId);
    endpoint.forwardSubscription("subscribe", subscription.info);
  }
}
