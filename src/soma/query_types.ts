/**
 * What travels through soma's query router: queries, their results, the endpoints that handle them, live
 * subscription queries and the sinks their updates go to.
 *
 * @module
 */
import type { Metadata } from "../dendrite/mod.ts";
import type { QueryRequest } from "../gen/axon/query_pb.ts";
import type { HandlingError } from "./commands.ts";
import type { Payload } from "./payload.ts";

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
  /** Hands over a query; the endpoint answers with `QueryRouter.respond` and `QueryRouter.complete`. */
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

/** A single error response. */
export function errorResult(code: string, message: string, cause?: unknown): QueryResult {
  return {
    id: crypto.randomUUID(),
    metadata: {},
    error: somaError(code, message, cause),
  };
}

/**
 * An error soma itself raises (location `soma`).
 *
 * @example
 * ```ts
 * import { somaError } from "./query_types.ts";
 * const lost = somaError("AXONIQ-4001", "Connection to the query handler was lost");
 * ```
 */
export function somaError(code: string, message: string, cause?: unknown): HandlingError {
  return { code, message, details: [], location: "soma", cause };
}
