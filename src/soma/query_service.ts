/**
 * soma's QueryService over the {@link QueryRouter}: handler streams (`OpenStream`, one {@link QueryHandlerStream}
 * each), `Query` (relays the router's responses; streaming queries under the caller's flow control) and
 * `Subscription` (one {@link SubscriptionCall} each). Wire mapping: query_wire.ts.
 *
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import type { ServerWritableStream } from "@grpc/grpc-js";
import { AxonErrorCode, type MessageRegistry, type SubscriptionLimiter } from "../dendrite/mod.ts";
import type { GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import { instructionAck } from "../dendrite/axon/protocol/instructions.ts";
import { EMPTY_PAYLOAD } from "../dendrite/axon/protocol/messages.ts";
import { Payload } from "./payload.ts";
import {
  QueryFlowControlSchema,
  type QueryProviderInbound,
  QueryProviderInboundSchema,
  type QueryProviderOutbound,
  QueryReferenceSchema,
  type QueryRequest,
  type QueryResponse,
  QueryResponseSchema,
  type QueryService,
  SubscriptionQueryRequestSchema,
  type SubscriptionQueryResponse,
  SubscriptionQuerySchema,
} from "../gen/axon/query_pb.ts";
import { axonError } from "./grpc_errors.ts";
import type { QueryRouter } from "./queries.ts";
import type { QueryEndpoint, SubscriptionInfo } from "./query_types.ts";
import { writeWithBackpressure } from "./streams.ts";
import { HandlerStream, type HandlerStreamCall, type TrackStream } from "./handler_stream.ts";
import type { CallerStream } from "./caller_windows.ts";
import { StreamingPermits } from "./streaming_permits.ts";
import { SubscriptionCall } from "./subscription_call.ts";
import { fromWireQuery, fromWireResult, handlingError, toWireQuery, toWireResponse } from "./query_wire.ts";

/** A gRPC message's frame header on the wire (compression flag and length). */
const GRPC_FRAME_HEADER = 5;

/** Options of {@link queryService}. */
export interface QueryServiceOptions {
  readonly router: QueryRouter;
  readonly registry: MessageRegistry;
  /** Timeout of a query without a TIMEOUT instruction (default 30 000 ms). */
  readonly queryTimeoutMs?: number;
  /** Streaming queries: responses a handler may send ahead of what the caller's window has taken (default 32). */
  readonly streamingWindow?: number;
  /** Updates that may wait for caller permits before the subscription fails (default 10 000). */
  readonly subscriptionBuffer?: number;
  /** Bounds live subscription queries per client id and in all (beyond: completed exceptionally, AXONIQ-1900). */
  readonly subscriptions?: SubscriptionLimiter;
  readonly nodeName: string;
  /** The caller's flow control on a `Query` call's stream, when soma's gRPC listener knows it. */
  readonly callerStream?: (
    call: ServerWritableStream<QueryRequest, QueryResponse>,
  ) => CallerStream | undefined;
  /** Registers a handler stream so soma can close it; returns an unregister. */
  readonly track: TrackStream;
}

/** A subscription query's id, as the unsubscribe a handler gets for an id soma does not know. */
function unknownSubscription(id: string): SubscriptionInfo {
  return {
    id,
    query: {
      id,
      name: "",
      payload: Payload.ofSerialized(EMPTY_PAYLOAD),
      metadata: {},
      timestamp: 0,
      clientId: "",
      component: "",
    },
  };
}

/**
 * One query handler stream (`OpenStream`): subscriptions, permits, responses and completions of one handler
 * connection, streaming-query flow control to it, and the subscription queries it serves.
 */
class QueryHandlerStream
  extends HandlerStream<QueryProviderOutbound, QueryProviderInbound, QueryEndpoint, QueryRouter> {
  readonly #registry: MessageRegistry;

  constructor(
    call: HandlerStreamCall<QueryProviderOutbound, QueryProviderInbound>,
    options: QueryServiceOptions,
  ) {
    super(call, options.router, options);
    this.#registry = options.registry;
  }

  protected override handle(message: QueryProviderOutbound): boolean | undefined {
    const request = message.request;
    switch (request.case) {
      case "subscribe":
        this.identify(request.value.clientId);
        this.router.subscribe(this.endpoint(), request.value.query, request.value.componentName || "default");
        return true;
      case "unsubscribe":
        if (this.streamId !== "") this.router.unsubscribe(this.streamId, request.value.query);
        return true;
      case "flowControl":
        this.grant(request.value.clientId, request.value.permits);
        return true;
      case "queryResponse":
        if (this.streamId !== "") {
          this.router.respond(this.streamId, request.value.requestIdentifier, fromWireResult(request.value));
        }
        return true;
      case "queryComplete":
        if (this.streamId !== "") this.router.complete(this.streamId, request.value.requestId);
        return true;
      case "subscriptionQueryResponse":
        this.#relayUpdate(request.value);
        return true;
      case "ack":
        return undefined;
      default:
        return false;
    }
  }

  protected override sendAck(instructionId: string, supported: boolean, nodeName: string): void {
    this.#send({ case: "ack", value: instructionAck(instructionId, supported, nodeName) });
  }

  protected override endpointOf(streamId: string): QueryEndpoint {
    const clientId = () => this.clientId;
    return {
      streamId,
      get clientId() {
        return clientId();
      },
      local: false,
      deliver: (query) =>
        this.#send({ case: "query", value: toWireQuery(query, this.#registry, query.streaming) }),
      forwardSubscription: (kind, info) => this.#forwardSubscription(kind, info),
      requestMore: (requestId, permits) =>
        this.#send({
          case: "queryFlowControl",
          value: create(QueryFlowControlSchema, { queryReference: { requestId }, permits: BigInt(permits) }),
        }),
      cancel: (requestId) =>
        this.#send({ case: "queryCancel", value: create(QueryReferenceSchema, { requestId }) }),
    };
  }

  #send(request: QueryProviderInbound["request"]): void {
    this.write(create(QueryProviderInboundSchema, { request }));
  }

  #forwardSubscription(kind: "subscribe" | "unsubscribe", info: SubscriptionInfo): void {
    const value = create(SubscriptionQuerySchema, {
      subscriptionIdentifier: info.id,
      queryRequest: kind === "subscribe" ? toWireQuery(info.query, this.#registry) : undefined,
    });
    this.#send({
      case: "subscriptionQueryRequest",
      value: create(SubscriptionQueryRequestSchema, { request: { case: kind, value } }),
    });
  }

  /** An update (or completion) the handler sent for a subscription query, to its subscriber. */
  #relayUpdate(response: SubscriptionQueryResponse): void {
    const sink = this.router.subscription(response.subscriptionIdentifier);
    if (!sink) {
      this.#forwardSubscription("unsubscribe", unknownSubscription(response.subscriptionIdentifier));
      return;
    }
    const value = response.response;
    switch (value.case) {
      case "update":
        sink.update(fromWireResult(value.value));
        break;
      case "complete":
        sink.complete();
        break;
      case "completeExceptionally":
        sink.completeExceptionally(
          handlingError(value.value.errorCode, value.value.errorMessage, AxonErrorCode.QUERY_EXECUTION_ERROR),
        );
        break;
      default:
        break;
    }
  }
}

/**
 * Serves one query handler stream on `call`: a gRPC `OpenStream` call, or another carrier of the same messages
 * (soma's `serveQueryHandler`: a `MessagePort`).
 *
 * @example
 * ```ts ignore
 * serveQueryHandlerStream(call, options);
 * ```
 */
export function serveQueryHandlerStream(
  call: HandlerStreamCall<QueryProviderOutbound, QueryProviderInbound>,
  options: QueryServiceOptions,
): void {
  new QueryHandlerStream(call, options).serve();
}

/** Builds the gRPC implementation. */
export function queryService(
  options: QueryServiceOptions,
): GrpcServiceImplementation<typeof QueryService.method> {
  const { router, registry } = options;
  const defaultTimeout = options.queryTimeoutMs ?? 30_000;
  const streamingWindow = Math.max(1, options.streamingWindow ?? 32);

  const query = async (call: ServerWritableStream<QueryRequest, QueryResponse>) => {
    const routed = fromWireQuery(call.request, defaultTimeout);
    const controller = new AbortController();
    call.on("cancelled", () => controller.abort(new DOMException("Query cancelled", "AbortError")));
    // Streaming: the handler may send a window of responses ahead of what the caller's HTTP/2 flow control
    // has taken (see streaming_permits.ts).
    const permits = routed.streaming
      ? new StreamingPermits(
        options.callerStream?.(call),
        streamingWindow,
        (n) => router.request(routed.id, n),
      )
      : undefined;
    try {
      const results = router.query(routed, controller.signal);
      permits?.start();
      for await (const result of results) {
        const response = toWireResponse(routed.id, result, registry);
        await writeWithBackpressure(call, response, controller.signal);
        permits?.written(
          permits.followsCaller ? GRPC_FRAME_HEADER + toBinary(QueryResponseSchema, response).length : 0,
        );
      }
      call.end();
    } catch (error) {
      if (!controller.signal.aborted) {
        call.emit("error", axonError(AxonErrorCode.QUERY_DISPATCH_ERROR, String(error)));
      }
    } finally {
      permits?.close();
    }
  };

  return {
    openStream: (call) => serveQueryHandlerStream(call, options),
    query: (call) => void query(call),
    subscription: (call) => new SubscriptionCall(call, options).serve(),
  };
}
