/**
 * soma's query router: one routing table for gRPC and in-process query handlers, plus the table of live
 * subscription queries.
 *
 * - A query goes to one endpoint per handling component (round robin within a component). Successful responses are
 *   relayed at once; error responses are held back and the last one is relayed only if nothing succeeded. The query
 *   ends when every chosen endpoint completed, or at its timeout (AXONIQ-5006 when nothing was relayed).
 *   No handler → one AXONIQ-5000 response.
 * - A subscription query is forwarded to every gRPC endpoint subscribed to its name (also to those that subscribe
 *   later); their updates, completion and exceptional completion reach the subscriber's sink. In-process handlers
 *   publish through {@link QueryRouter.subscriptions} (dendrite's `emitUpdate`).
 *
 * @module
 */
import { AxonErrorCode } from "../dendrite/mod.ts";
import { Channel } from "../dendrite/core/channel.ts";
import { ActiveQuery, type QueuedQuery } from "./active_query.ts";
import { FlowQueue } from "./flow.ts";
import { QuerySubscriptions } from "./query_subscriptions.ts";
import {
  errorResult,
  type QueryEndpoint,
  type QueryHandlerStatus,
  type QueryResult,
  type RoutedQuery,
  somaError,
  type SubscriptionInfo,
  type SubscriptionSink,
} from "./query_types.ts";
import { RouteCounts } from "./route_counts.ts";

interface EndpointState {
  readonly endpoint: QueryEndpoint;
  readonly queue: FlowQueue<QueuedQuery>;
  /** query name → component */
  readonly subscriptions: Map<string, string>;
}

/** The router. */
export class QueryRouter {
  /** Queries routed by name: `routed` to at least one handler, or `no_handler`. */
  readonly routed = new RouteCounts();
  readonly #endpoints = new Map<string, EndpointState>();
  /** query name → component → streamIds */
  readonly #byName = new Map<string, Map<string, string[]>>();
  readonly #roundRobin = new Map<string, number>();
  readonly #active = new Map<string, ActiveQuery>();
  readonly #subscriptions = new QuerySubscriptions((streamId) => this.#endpoints.get(streamId)?.endpoint);

  /** Adds an endpoint with its initial permits (0 for gRPC streams, Infinity in-process). */
  addEndpoint(endpoint: QueryEndpoint, permits: number): void {
    this.#endpoints.set(endpoint.streamId, {
      endpoint,
      subscriptions: new Map(),
      queue: new FlowQueue<QueuedQuery>((queued) => {
        const active = this.#active.get(queued.query.id);
        active?.queued.delete(endpoint.streamId);
        if (!active) return;
        endpoint.deliver(queued.query);
        if (!active.query.streaming) return;
        active.delivered.add(endpoint.streamId);
        if (active.requested > 0) endpoint.requestMore?.(active.query.id, active.requested);
      }, permits),
    });
  }

  /** Subscribes an endpoint to a query name for a component; forwards live subscription queries to it. */
  subscribe(streamId: string, query: string, component: string): void {
    const state = this.#endpoints.get(streamId);
    if (!state) throw new Error(`Unknown query endpoint "${streamId}"`);
    if (state.subscriptions.has(query)) return;
    state.subscriptions.set(query, component);
    let components = this.#byName.get(query);
    if (!components) this.#byName.set(query, components = new Map());
    const list = components.get(component) ?? [];
    list.push(streamId);
    components.set(component, list);
    this.#subscriptions.forwardExisting(streamId, state.endpoint, query);
  }

  /** Removes one subscription of an endpoint. */
  unsubscribe(streamId: string, query: string): void {
    const state = this.#endpoints.get(streamId);
    const component = state?.subscriptions.get(query);
    if (component === undefined) return;
    state!.subscriptions.delete(query);
    const components = this.#byName.get(query);
    const remaining = components?.get(component)?.filter((id) => id !== streamId) ?? [];
    if (remaining.length > 0) components!.set(component, remaining);
    else components?.delete(component);
    if (components?.size === 0) this.#byName.delete(query);
  }

  /** Adds permits to an endpoint. */
  grant(streamId: string, permits: number): void {
    this.#endpoints.get(streamId)?.queue.grant(permits);
  }

  /**
   * Removes an endpoint; queries waiting on it count it as failed with AXONIQ-4001, and so do the live
   * subscription queries forwarded to it while it was still subscribed to their query (see
   * {@link QuerySubscriptions.lost}).
   */
  removeEndpoint(streamId: string): void {
    const state = this.#endpoints.get(streamId);
    if (!state) return;
    const subscribed = new Set(state.subscriptions.keys());
    for (const query of subscribed) this.unsubscribe(streamId, query);
    this.#endpoints.delete(streamId);
    state.queue.takeAll();
    for (const active of [...this.#active.values()]) {
      if (!active.waiting.has(streamId)) continue;
      active.accept(
        errorResult(AxonErrorCode.CONNECTION_TO_HANDLER_LOST, "Connection to the query handler was lost"),
      );
      if (active.completeOne(streamId)) this.#finish(active);
    }
    this.#subscriptions.lost(
      streamId,
      subscribed,
      somaError(
        AxonErrorCode.CONNECTION_TO_HANDLER_LOST,
        "Connection to the query handler was lost; updates may be missing: subscribe again",
      ),
    );
  }

  /** Whether any handler is subscribed to `query`. */
  hasHandler(query: string): boolean {
    return (this.#byName.get(query)?.size ?? 0) > 0;
  }

  /** A handler's response to query `requestId`; false when that query is not waiting for this endpoint. */
  respond(streamId: string, requestId: string, result: QueryResult): boolean {
    const active = this.#active.get(requestId);
    if (!active || !active.waiting.has(streamId)) return false;
    active.accept(result);
    return true;
  }

  /** A handler finished query `requestId`. */
  complete(streamId: string, requestId: string): boolean {
    const active = this.#active.get(requestId);
    if (!active || !active.waiting.has(streamId)) return false;
    if (active.completeOne(streamId)) this.#finish(active);
    return true;
  }

  /**
   * Sends a query to one endpoint per component; the returned stream yields the relayed responses and ends when
   * the query is done. Aborting `signal` (the caller went away) drops the query.
   */
  query(query: Omit<RoutedQuery, "signal">, signal?: AbortSignal): AsyncIterable<QueryResult> {
    const channel = new Channel<QueryResult>(Number.MAX_SAFE_INTEGER);
    if (this.#active.has(query.id)) {
      channel.push(errorResult(AxonErrorCode.QUERY_DUPLICATED, `Duplicate query id "${query.id}"`));
      channel.close();
      return channel;
    }
    // A streaming query is point-to-point (one handler), as Axon Server routes it.
    const targets = this.#targets(query.name).slice(0, query.streaming ? 1 : undefined);
    this.routed.add(query.name, targets.length === 0 ? "no_handler" : "routed");
    if (targets.length === 0) {
      channel.push(errorResult(AxonErrorCode.NO_HANDLER_FOR_QUERY, `No handler for query: ${query.name}`));
      channel.close();
      return channel;
    }
    const active: ActiveQuery = new ActiveQuery(query, channel, targets, () => this.#finish(active));
    this.#active.set(query.id, active);
    const onAbort = () => this.#finish(active);
    signal?.addEventListener("abort", onAbort, { once: true });
    active.query.signal.addEventListener("abort", () => signal?.removeEventListener("abort", onAbort), {
      once: true,
    });
    for (const streamId of targets) {
      const queued: QueuedQuery = { query: active.query, priority: query.priority };
      active.queued.set(streamId, queued);
      this.#endpoints.get(streamId)!.queue.enqueue(queued);
    }
    return channel;
  }

  /**
   * A streaming query's caller takes `permits` more responses: the handlers it was delivered to get a
   * `QueryFlowControl`; those it reaches later get every permit granted so far.
   */
  request(queryId: string, permits: number): void {
    const active = this.#active.get(queryId);
    if (!active || !active.query.streaming || permits <= 0) return;
    active.requested += permits;
    for (const streamId of active.delivered) {
      if (active.waiting.has(streamId)) {
        this.#endpoints.get(streamId)?.endpoint.requestMore?.(queryId, permits);
      }
    }
  }

  /** Registers a subscription query and forwards it to the gRPC handlers of its name. */
  openSubscription(info: SubscriptionInfo, sink: SubscriptionSink): boolean {
    return this.#subscriptions.open(info, sink, this.#targets(info.query.name, true));
  }

  /** Ends a subscription query (caller unsubscribed or went away): handlers get `unsubscribe`. */
  closeSubscription(id: string): void {
    this.#subscriptions.close(id);
  }

  /** The sink of a live subscription, if any. */
  subscription(id: string): SubscriptionSink | undefined {
    return this.#subscriptions.sink(id);
  }

  /** Live subscriptions for a query name (for in-process `emitUpdate`). */
  subscriptions(query: string): { readonly info: SubscriptionInfo; readonly sink: SubscriptionSink }[] {
    return this.#subscriptions.named(query);
  }

  /** Every registration, for the status surface. */
  handlers(): QueryHandlerStatus[] {
    const out: QueryHandlerStatus[] = [];
    for (const [query, components] of this.#byName) {
      for (const [component, ids] of components) {
        for (const streamId of ids) {
          const state = this.#endpoints.get(streamId);
          if (!state) continue;
          out.push({
            query,
            component,
            streamId,
            clientId: state.endpoint.clientId,
            local: state.endpoint.local,
            permits: state.queue.permits,
            queued: state.queue.size,
          });
        }
      }
    }
    return out;
  }

  /** Number of live subscription queries. */
  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  /** Ends every query and subscription (server shutdown). */
  close(): void {
    for (const active of [...this.#active.values()]) this.#finish(active);
    this.#subscriptions.completeAll();
  }

  #targets(query: string, all = false): string[] {
    const components = this.#byName.get(query);
    if (!components) return [];
    const out: string[] = [];
    for (const [component, ids] of components) {
      if (ids.length === 0) continue;
      if (all) {
        out.push(...ids);
        continue;
      }
      const key = `${query}\u0000${component}`;
      const next = this.#roundRobin.get(key) ?? 0;
      this.#roundRobin.set(key, next + 1);
      out.push(ids[next % ids.length]);
    }
    return out;
  }

  #finish(active: ActiveQuery): void {
    if (this.#active.get(active.query.id) !== active) return;
    this.#active.delete(active.query.id);
    for (const [streamId, queued] of active.queued) this.#endpoints.get(streamId)?.queue.remove(queued);
    for (const streamId of active.delivered) {
      if (active.waiting.has(streamId)) this.#endpoints.get(streamId)?.endpoint.cancel?.(active.query.id);
    }
    active.end();
  }
}
