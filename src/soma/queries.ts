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
import { RouteCounts } from "./route_counts.ts";
import { AxonErrorCode, type Metadata } from "../dendrite/mod.ts";
import { Channel } from "../dendrite/core/channel.ts";
import type { QueryRequest } from "../gen/axon/query_pb.ts";
import type { Payload } from "./payload.ts";
import type { HandlingError } from "./commands.ts";
import { FlowQueue } from "./flow.ts";

/** One response of a query handler (or an update of a subscription query). */
export interface QueryResult {
  readonly id: string;
  readonly payload?: Payload;
  readonly metadata: Metadata;
  readonly error?: HandlingError;
}

/** A query travelling through the router. */
export interface RoutedQuery {
  readonly id: string;
  readonly name: string;
  readonly payload: Payload;
  readonly metadata: Metadata;
  readonly timestamp: number;
  readonly clientId: string;
  readonly component: string;
  /** Epoch ms after which the result no longer matters. */
  readonly deadline: number;
  readonly priority: number;
  /** The caller supports streaming (forwarded as SERVER_SUPPORTS_STREAMING). */
  readonly streaming: boolean;
  /** The wire message when the query arrived over gRPC. */
  readonly wire?: QueryRequest;
  /** Aborts when the caller goes away or the query ends. */
  readonly signal: AbortSignal;
}

/** A live subscription query. */
export interface SubscriptionInfo {
  readonly id: string;
  readonly query: Omit<RoutedQuery, "signal" | "deadline" | "priority" | "streaming">;
}

/** Where a subscription's updates go. */
export interface SubscriptionSink {
  update(update: QueryResult): void;
  complete(): void;
  completeExceptionally(error: HandlingError): void;
}

/** A query handler endpoint: a gRPC query stream or an in-process handler. */
export interface QueryEndpoint {
  readonly streamId: string;
  readonly clientId: string;
  readonly local: boolean;
  /** Hands over a query; the endpoint answers with {@link QueryRouter.respond} and {@link QueryRouter.complete}. */
  deliver(query: RoutedQuery): void;
  /** Forwards subscription-query traffic (gRPC endpoints only). */
  forwardSubscription?(kind: "subscribe" | "unsubscribe", subscription: SubscriptionInfo): void;
  /** Streaming queries: the caller may take `permits` more responses of query `queryId` (`QueryFlowControl`). */
  requestMore?(queryId: string, permits: number): void;
  /** Streaming queries: the caller went away before the handler completed (`query_cancel`). */
  cancel?(queryId: string): void;
}

/** Per-registration numbers for the status surface. */
export interface QueryHandlerStatus {
  readonly query: string;
  readonly component: string;
  readonly streamId: string;
  readonly clientId: string;
  readonly local: boolean;
  readonly permits: number;
  readonly queued: number;
}

interface QueuedQuery {
  readonly query: RoutedQuery;
  readonly priority: number;
}

interface EndpointState {
  readonly endpoint: QueryEndpoint;
  readonly queue: FlowQueue<QueuedQuery>;
  /** query name → component */
  readonly subscriptions: Map<string, string>;
}

interface ActiveQuery {
  readonly query: RoutedQuery;
  readonly controller: AbortController;
  readonly channel: Channel<QueryResult>;
  readonly waiting: Set<string>;
  readonly queued: Map<string, QueuedQuery>;
  /** Streaming: endpoints the query was delivered to, and the permits the caller granted so far. */
  readonly delivered: Set<string>;
  requested: number;
  held?: QueryResult;
  relayed: number;
  timer: ReturnType<typeof setTimeout>;
}

interface ActiveSubscription {
  readonly info: SubscriptionInfo;
  readonly sink: SubscriptionSink;
  readonly forwardedTo: Set<string>;
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
  readonly #subscriptions = new Map<string, ActiveSubscription>();

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
    if (state.endpoint.forwardSubscription) {
      for (const subscription of this.#subscriptions.values()) {
        if (subscription.info.query.name !== query) continue;
        subscription.forwardedTo.add(streamId);
        state.endpoint.forwardSubscription("subscribe", subscription.info);
      }
    }
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

  /** Removes an endpoint; queries waiting on it count it as failed with AXONIQ-4001. */
  removeEndpoint(streamId: string): void {
    const state = this.#endpoints.get(streamId);
    if (!state) return;
    for (const query of [...state.subscriptions.keys()]) this.unsubscribe(streamId, query);
    this.#endpoints.delete(streamId);
    state.queue.takeAll();
    for (const active of [...this.#active.values()]) {
      if (!active.waiting.has(streamId)) continue;
      this.#accept(active, {
        id: crypto.randomUUID(),
        metadata: {},
        error: {
          code: AxonErrorCode.CONNECTION_TO_HANDLER_LOST,
          message: "Connection to the query handler was lost",
          details: [],
          location: "soma",
        },
      });
      this.#completeOne(active, streamId);
    }
    for (const subscription of this.#subscriptions.values()) subscription.forwardedTo.delete(streamId);
  }

  /** Whether any handler is subscribed to `query`. */
  hasHandler(query: string): boolean {
    return (this.#byName.get(query)?.size ?? 0) > 0;
  }

  /** A handler's response to query `requestId`; false when that query is not waiting for this endpoint. */
  respond(streamId: string, requestId: string, result: QueryResult): boolean {
    const active = this.#active.get(requestId);
    if (!active || !active.waiting.has(streamId)) return false;
    this.#accept(active, result);
    return true;
  }

  /** A handler finished query `requestId`. */
  complete(streamId: string, requestId: string): boolean {
    const active = this.#active.get(requestId);
    if (!active || !active.waiting.has(streamId)) return false;
    this.#completeOne(active, streamId);
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
    const controller = new AbortController();
    const routed: RoutedQuery = { ...query, signal: controller.signal };
    const active: ActiveQuery = {
      query: routed,
      controller,
      channel,
      waiting: new Set(targets),
      queued: new Map(),
      delivered: new Set(),
      requested: 0,
      relayed: 0,
      timer: setTimeout(() => {
        if (active.relayed === 0) {
          channel.push(
            active.held ??
              errorResult(AxonErrorCode.QUERY_TIMEOUT, `Query "${query.name}" timed out`),
          );
        }
        this.#finish(active);
      }, Math.max(0, query.deadline - Date.now())),
    };
    this.#active.set(query.id, active);
    const onAbort = () => this.#finish(active);
    signal?.addEventListener("abort", onAbort, { once: true });
    controller.signal.addEventListener("abort", () => signal?.removeEventListener("abort", onAbort), {
      once: true,
    });
    for (const streamId of targets) {
      const queued: QueuedQuery = { query: routed, priority: query.priority };
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
    if (this.#subscriptions.has(info.id)) return false;
    const subscription: ActiveSubscription = { info, sink, forwardedTo: new Set() };
    this.#subscriptions.set(info.id, subscription);
    for (const streamId of this.#targets(info.query.name, true)) {
      const endpoint = this.#endpoints.get(streamId)?.endpoint;
      if (!endpoint?.forwardSubscription) continue;
      subscription.forwardedTo.add(streamId);
      endpoint.forwardSubscription("subscribe", info);
    }
    return true;
  }

  /** Ends a subscription query (caller unsubscribed or went away): handlers get `unsubscribe`. */
  closeSubscription(id: string): void {
    const subscription = this.#subscriptions.get(id);
    if (!subscription) return;
    this.#subscriptions.delete(id);
    for (const streamId of subscription.forwardedTo) {
      this.#endpoints.get(streamId)?.endpoint.forwardSubscription?.("unsubscribe", subscription.info);
    }
  }

  /** The sink of a live subscription, if any. */
  subscription(id: string): SubscriptionSink | undefined {
    return this.#subscriptions.get(id)?.sink;
  }

  /** Live subscriptions for a query name (for in-process `emitUpdate`). */
  subscriptions(query: string): { readonly info: SubscriptionInfo; readonly sink: SubscriptionSink }[] {
    return [...this.#subscriptions.values()].filter((s) => s.info.query.name === query);
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
    for (const subscription of [...this.#subscriptions.values()]) {
      this.#subscriptions.delete(subscription.info.id);
      subscription.sink.complete();
    }
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

  #accept(active: ActiveQuery, result: QueryResult): void {
    if (result.error) {
      active.held = result;
      return;
    }
    active.held = undefined;
    active.relayed++;
    active.channel.push(result);
  }

  #completeOne(active: ActiveQuery, streamId: string): void {
    active.waiting.delete(streamId);
    if (active.waiting.size > 0) return;
    if (active.relayed === 0 && active.held) active.channel.push(active.held);
    this.#finish(active);
  }

  #finish(active: ActiveQuery): void {
    if (this.#active.get(active.query.id) !== active) return;
    this.#active.delete(active.query.id);
    clearTimeout(active.timer);
    for (const [streamId, queued] of active.queued) this.#endpoints.get(streamId)?.queue.remove(queued);
    for (const streamId of active.delivered) {
      if (active.waiting.has(streamId)) this.#endpoints.get(streamId)?.endpoint.cancel?.(active.query.id);
    }
    active.controller.abort(new DOMException("The query ended", "AbortError"));
    active.channel.close();
  }
}

/** A single error response. */
export function errorResult(code: string, message: string, cause?: unknown): QueryResult {
  return {
    id: crypto.randomUUID(),
    metadata: {},
    error: { code, message, details: [], location: "soma", cause },
  };
}
