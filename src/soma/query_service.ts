/**
 * soma's QueryService over the {@link QueryRouter}: handler streams (`OpenStream`), `Query` (relays the router's
 * responses) and `Subscription` (subscription queries with caller permits).
 *
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import type { ServerDuplexStream, ServerWritableStream } from "@grpc/grpc-js";
import {
  AxonErrorCode,
  type MessageRegistry,
  type SubscriptionLimiter,
  SubscriptionLimitError,
} from "../dendrite/mod.ts";
import type { GrpcServiceImplementation } from "../dendrite/grpc/service.ts";
import { ErrorMessageSchema, ProcessingKey } from "../gen/axon/common_pb.ts";
import { instructionAck } from "../dendrite/axon/wire.ts";
import {
  QueryFlowControlSchema,
  type QueryProviderInbound,
  QueryProviderInboundSchema,
  type QueryProviderOutbound,
  QueryReferenceSchema,
  type QueryRequest,
  QueryRequestSchema,
  type QueryResponse,
  QueryResponseSchema,
  type QueryService,
  type QueryUpdate,
  type SubscriptionQuery,
  type SubscriptionQueryRequest,
  SubscriptionQueryRequestSchema,
  type SubscriptionQueryResponse,
  SubscriptionQueryResponseSchema,
  SubscriptionQuerySchema,
} from "../gen/axon/query_pb.ts";
import {
  fromSerializedObject,
  fromWireMetadata,
  instructionValue,
  numberInstruction,
  numericInstruction,
  Payload,
  replaceInstruction,
  toSerializedObject,
  toWireMetadata,
} from "./convert.ts";
import type { HandlingError } from "./commands.ts";
import { errorDetailsOf, errorPayload } from "./command_service.ts";
import { axonError } from "./grpc_errors.ts";
import {
  errorResult,
  type QueryEndpoint,
  type QueryResult,
  type QueryRouter,
  type RoutedQuery,
  type SubscriptionInfo,
  type SubscriptionSink,
} from "./queries.ts";
import { serveHandlerStream, writeWithBackpressure } from "./streams.ts";
import type { CallerStream } from "./caller_windows.ts";
import { StreamingPermits } from "./streaming_permits.ts";

/** A gRPC message's frame header on the wire (compression flag and length). */
const GRPC_FRAME_HEADER = 5;

/** `ProcessingKey.SERVER_SUPPORTS_STREAMING`. */
export const SERVER_SUPPORTS_STREAMING = ProcessingKey.SERVER_SUPPORTS_STREAMING;
/** `ProcessingKey.CLIENT_SUPPORTS_STREAMING`. */
export const CLIENT_SUPPORTS_STREAMING = ProcessingKey.CLIENT_SUPPORTS_STREAMING;

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
  readonly track: (clientId: () => string, close: () => void) => () => void;
}

/** A routed query as the wire `QueryRequest` a handler receives (TIMEOUT = remaining time). */
export function toWireQuery(
  query: Omit<RoutedQuery, "signal" | "deadline" | "priority" | "streaming"> & { deadline?: number },
  registry: MessageRegistry,
  streaming = false,
): QueryRequest {
  const timeout = query.deadline === undefined ? undefined : Math.max(0, query.deadline - Date.now());
  const base = query.wire ?? create(QueryRequestSchema, {
    messageIdentifier: query.id,
    query: query.name,
    timestamp: BigInt(query.timestamp),
    payload: toSerializedObject(query.payload.serialized(registry)),
    metaData: toWireMetadata(query.metadata),
    clientId: query.clientId,
    componentName: query.component,
  });
  let instructions = replaceInstruction(base.processingInstructions, {
    $typeName: "io.axoniq.axonserver.grpc.ProcessingInstruction",
    key: SERVER_SUPPORTS_STREAMING,
    value: {
      $typeName: "io.axoniq.axonserver.grpc.MetaDataValue",
      data: { case: "booleanValue", value: streaming },
    },
  });
  if (timeout !== undefined) {
    instructions = replaceInstruction(instructions, numberInstruction(ProcessingKey.TIMEOUT, timeout));
  }
  return { ...base, messageIdentifier: query.id, processingInstructions: instructions };
}

/** A wire query → a routed query (without its signal). */
export function fromWireQuery(wire: QueryRequest, defaultTimeoutMs: number): Omit<RoutedQuery, "signal"> {
  const id = wire.messageIdentifier === "" ? crypto.randomUUID() : wire.messageIdentifier;
  const timeout = numericInstruction(wire.processingInstructions, ProcessingKey.TIMEOUT);
  const streaming = instructionValue(wire.processingInstructions, CLIENT_SUPPORTS_STREAMING);
  return {
    id,
    name: wire.query,
    payload: Payload.ofSerialized(fromSerializedObject(wire.payload)),
    metadata: fromWireMetadata(wire.metaData),
    timestamp: Number(wire.timestamp),
    clientId: wire.clientId,
    component: wire.componentName,
    deadline: Date.now() + (timeout !== undefined && timeout > 0 ? timeout : defaultTimeoutMs),
    priority: numericInstruction(wire.processingInstructions, ProcessingKey.PRIORITY) ?? 0,
    streaming: streaming?.case === "booleanValue" && streaming.value,
    wire: { ...wire, messageIdentifier: id },
  };
}

/** An error as the wire `ErrorMessage`. */
function wireError(error: HandlingError) {
  return create(ErrorMessageSchema, {
    message: error.message,
    details: [...error.details],
    location: error.location,
    errorCode: error.errorCode ?? error.code,
  });
}

function handlingError(
  code: string,
  message: QueryResponse["errorMessage"],
  fallback: string,
  details?: QueryResponse["payload"],
): HandlingError {
  return {
    code: code === "" ? fallback : code,
    message: message?.message ?? "",
    details: message?.details ?? [],
    location: message?.location ?? "",
    errorCode: message?.errorCode || undefined,
    payload: errorPayload(details),
  };
}

/** A wire response (or update) → a result. */
export function fromWireResult(response: QueryResponse | QueryUpdate): QueryResult {
  const failed = response.errorCode !== "" || response.errorMessage !== undefined;
  const payload = fromSerializedObject(response.payload);
  return {
    id: response.messageIdentifier,
    metadata: fromWireMetadata(response.metaData),
    payload: failed || payload.type === "empty" || payload.type === ""
      ? undefined
      : Payload.ofSerialized(payload),
    error: failed
      ? handlingError(
        response.errorCode,
        response.errorMessage,
        AxonErrorCode.QUERY_EXECUTION_ERROR,
        response.payload,
      )
      : undefined,
  };
}

/** A result → the wire response to query `requestId`. */
export function toWireResponse(
  requestId: string,
  result: QueryResult,
  registry: MessageRegistry,
): QueryResponse {
  let payload = result.error ? errorDetailsOf(result.error, registry) : undefined;
  let error = result.error;
  if (!error && result.payload) {
    try {
      payload = toSerializedObject(result.payload.serialized(registry));
    } catch (cause) {
      error =
        errorResult(AxonErrorCode.QUERY_EXECUTION_ERROR, `The response cannot be serialized: ${cause}`).error;
    }
  }
  return create(QueryResponseSchema, {
    requestIdentifier: requestId,
    messageIdentifier: result.id,
    payload,
    metaData: toWireMetadata(result.metadata),
    errorCode: error?.code ?? "",
    errorMessage: error ? wireError(error) : undefined,
  });
}

function toWireUpdate(result: QueryResult, registry: MessageRegistry): QueryUpdate {
  const response = toWireResponse("", result, registry);
  return {
    $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdate",
    messageIdentifier: response.messageIdentifier,
    payload: response.payload,
    metaData: response.metaData,
    clientId: "",
    componentName: "",
    errorCode: response.errorCode,
    errorMessage: response.errorMessage,
  };
}

/** Builds the gRPC implementation. */
export function queryService(
  options: QueryServiceOptions,
): GrpcServiceImplementation<typeof QueryService.method> {
  const { router, registry } = options;
  const defaultTimeout = options.queryTimeoutMs ?? 30_000;
  const bufferLimit = options.subscriptionBuffer ?? 10_000;
  const streamingWindow = Math.max(1, options.streamingWindow ?? 32);

  const openStream = (call: ServerDuplexStream<QueryProviderOutbound, QueryProviderInbound>) => {
    const connectionId = crypto.randomUUID();
    let clientId = "";
    let streamId = "";
    let closed = false;
    const write = (request: QueryProviderInbound["request"], instructionId = "") => {
      if (!closed) call.write(create(QueryProviderInboundSchema, { request, instructionId }));
    };
    const subscriptionRequest = (kind: "subscribe" | "unsubscribe", info: SubscriptionInfo) => {
      const value = create(SubscriptionQuerySchema, {
        subscriptionIdentifier: info.id,
        queryRequest: kind === "subscribe" ? toWireQuery(info.query, registry) : undefined,
      });
      write({
        case: "subscriptionQueryRequest",
        value: create(SubscriptionQueryRequestSchema, { request: { case: kind, value } }),
      });
    };
    const endpoint = (): string => {
      if (streamId !== "") return streamId;
      streamId = `${clientId}.${connectionId}`;
      const handler: QueryEndpoint = {
        streamId,
        get clientId() {
          return clientId;
        },
        local: false,
        deliver: (query) => write({ case: "query", value: toWireQuery(query, registry, query.streaming) }),
        forwardSubscription: subscriptionRequest,
        requestMore: (requestId, permits) =>
          write({
            case: "queryFlowControl",
            value: create(QueryFlowControlSchema, {
              queryReference: { requestId },
              permits: BigInt(permits),
            }),
          }),
        cancel: (requestId) =>
          write({ case: "queryCancel", value: create(QueryReferenceSchema, { requestId }) }),
      };
      router.addEndpoint(handler, 0);
      return streamId;
    };
    const close = () => {
      if (closed) return;
      closed = true;
      untrack();
      if (streamId !== "") router.removeEndpoint(streamId);
      call.end();
    };
    const untrack = options.track(() => clientId, close);
    serveHandlerStream(call, {
      handle(message: QueryProviderOutbound) {
        const request = message.request;
        switch (request.case) {
          case "subscribe":
            clientId ||= request.value.clientId;
            router.subscribe(endpoint(), request.value.query, request.value.componentName || "default");
            return true;
          case "unsubscribe":
            if (streamId !== "") router.unsubscribe(streamId, request.value.query);
            return true;
          case "flowControl":
            clientId ||= request.value.clientId;
            router.grant(endpoint(), Number(request.value.permits));
            return true;
          case "queryResponse":
            if (streamId !== "") {
              router.respond(streamId, request.value.requestIdentifier, fromWireResult(request.value));
            }
            return true;
          case "queryComplete":
            if (streamId !== "") router.complete(streamId, request.value.requestId);
            return true;
          case "subscriptionQueryResponse":
            relayUpdate(request.value, (id) =>
              subscriptionRequest("unsubscribe", {
                id,
                query: {
                  id,
                  name: "",
                  payload: Payload.ofSerialized(fromSerializedObject(undefined)),
                  metadata: {},
                  timestamp: 0,
                  clientId: "",
                  component: "",
                },
              }));
            return true;
          case "ack":
            return undefined;
          default:
            return false;
        }
      },
      ack: (instructionId, supported) =>
        write({ case: "ack", value: instructionAck(instructionId, supported, options.nodeName) }),
      close,
    });
  };

  const relayUpdate = (response: SubscriptionQueryResponse, unknown: (id: string) => void) => {
    const sink = router.subscription(response.subscriptionIdentifier);
    if (!sink) {
      unknown(response.subscriptionIdentifier);
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
  };

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

  const subscription = (call: ServerDuplexStream<SubscriptionQueryRequest, SubscriptionQueryResponse>) => {
    let permits = 0;
    let ended = false;
    const waiting: SubscriptionQueryResponse[] = [];
    /** This stream's live subscriptions, with the release of their limiter lease. */
    const mine = new Map<string, () => void>();
    const forget = (id: string): boolean => {
      const release = mine.get(id);
      mine.delete(id);
      release?.();
      return release !== undefined;
    };
    const controller = new AbortController();
    const flush = () => {
      while (permits > 0 && waiting.length > 0 && !ended) {
        permits--;
        call.write(waiting.shift()!);
      }
    };
    const send = (subscriptionId: string, response: SubscriptionQueryResponse["response"]) => {
      if (ended) return;
      waiting.push(create(SubscriptionQueryResponseSchema, {
        messageIdentifier: crypto.randomUUID(),
        subscriptionIdentifier: subscriptionId,
        response,
      }));
      if (waiting.length > bufferLimit) {
        end(axonError(AxonErrorCode.TOO_MANY_REQUESTS, `More than ${bufferLimit} updates wait for permits`));
        return;
      }
      flush();
    };
    const end = (error?: ReturnType<typeof axonError>) => {
      if (ended) return;
      ended = true;
      controller.abort(new DOMException("Subscription stream ended", "AbortError"));
      for (const id of [...mine.keys()]) {
        forget(id);
        router.closeSubscription(id);
      }
      if (error) call.emit("error", error);
      else call.end();
    };
    const open = (request: SubscriptionQuery) => {
      const wire = request.queryRequest;
      if (!wire) return;
      const id = request.subscriptionIdentifier || wire.messageIdentifier || crypto.randomUUID();
      const routed = fromWireQuery(wire, defaultTimeout);
      const sink: SubscriptionSink = {
        update: (update) => send(id, { case: "update", value: toWireUpdate(update, registry) }),
        complete: () => {
          forget(id);
          router.closeSubscription(id);
          send(id, {
            case: "complete",
            value: {
              $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdateComplete",
              clientId: "",
              componentName: "",
            },
          });
        },
        completeExceptionally: (error) => {
          forget(id);
          router.closeSubscription(id);
          send(id, {
            case: "completeExceptionally",
            value: {
              $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdateCompleteExceptionally",
              clientId: "",
              componentName: "",
              errorCode: error.code,
              errorMessage: wireError(error),
            },
          });
        },
      };
      const { deadline: _deadline, priority: _priority, streaming: _streaming, ...query } = routed;
      let release = () => {};
      try {
        release = options.subscriptions?.acquire(query.clientId) ?? release;
      } catch (error) {
        if (!(error instanceof SubscriptionLimitError)) throw error;
        const refusal = { code: error.code, message: error.message, details: [], location: options.nodeName };
        return sink.completeExceptionally(refusal);
      }
      if (router.openSubscription({ id, query: { ...query, id } }, sink)) mine.set(id, release);
      else {
        release();
        sink.completeExceptionally({
          code: AxonErrorCode.QUERY_DUPLICATED,
          message: `Subscription "${id}" already exists`,
          details: [],
          location: options.nodeName,
        });
      }
    };
    const initialResult = async (request: SubscriptionQuery) => {
      const wire = request.queryRequest;
      if (!wire) return;
      const id = request.subscriptionIdentifier || wire.messageIdentifier;
      const routed = fromWireQuery({ ...wire, messageIdentifier: crypto.randomUUID() }, defaultTimeout);
      let first: QueryResult | undefined;
      for await (const result of router.query(routed, controller.signal)) {
        if (!first || (first.error && !result.error)) first = result;
        if (!result.error) break;
      }
      first ??= errorResult(AxonErrorCode.NO_HANDLER_FOR_QUERY, `No handler for query: ${routed.name}`);
      send(id, { case: "initialResult", value: toWireResponse(wire.messageIdentifier, first, registry) });
    };
    call.on("data", (message: SubscriptionQueryRequest) => {
      const request = message.request;
      switch (request.case) {
        case "subscribe":
          open(request.value);
          break;
        case "unsubscribe": {
          const id = request.value.subscriptionIdentifier;
          if (forget(id)) router.closeSubscription(id);
          break;
        }
        case "getInitialResult":
          initialResult(request.value).catch(() => {/* stream ended meanwhile */});
          break;
        case "flowControl":
          permits += Number(request.value.numberOfPermits);
          flush();
          break;
        default:
          break;
      }
    });
    call.on("end", () => end());
    call.on("cancelled", () => end());
    call.on("error", () => end());
  };

  return {
    openStream,
    query: (call) => void query(call),
    subscription,
  };
}
