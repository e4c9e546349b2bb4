/**
 * The QueryBus port on Axon Server. Sending: `Query` (scatter-gather, every response streamed) and `Subscription`
 * (permits first, then subscribe, then the initial result asked for on the same stream, so the handler side holds
 * the subscription before it answers and no update is missed). Handling: one `OpenStream` per connection with subscriptions, permits, responses, `query_complete`,
 * and the subscription queries the server forwards, so `emitUpdate` reaches subscribers in any process.
 *
 * @module
 */
import { create, type DescMessage, type Message, type MessageShape } from "@bufbuild/protobuf";
import { ProcessingKey } from "../../gen/axon/common_pb.ts";
import {
  QueryCompleteSchema,
  type QueryProviderInbound,
  QueryProviderOutboundSchema,
  type QueryRequest,
  QueryRequestSchema,
  QueryResponseSchema,
  QueryService,
  QuerySubscriptionSchema,
} from "../../gen/axon/query_pb.ts";
import { DendriteError, TimeoutError } from "../core/errors.ts";
import { newMessageId, type QueryMessage } from "../core/message.ts";
import type { MessageRegistry } from "../core/registry.ts";
import type { Registration } from "../commands/command_bus.ts";
import {
  DEFAULT_QUERY_TIMEOUT_MS,
  type QueryBus,
  type QueryHandler,
  type QueryOptions,
  type QuerySubscribeOptions,
  type SubscriptionQueryOptions,
  type UpdateFilter,
} from "../queries/query_bus.ts";
import { responsesOf, type SubscriptionQueryResult, subscriptionResult } from "../queries/query_results.ts";
import type { AxonConnection } from "./connection.ts";
import { Acks, awaitAck } from "./acks.ts";
import { isStreamingQuery, ResponseGate, STREAMING_RESPONSE_TYPE } from "./query_flow.ts";
import { AxonSubscription } from "./subscription_query.ts";
import { GrpcError, type Rpc } from "./rpc.ts";
import { ProviderStream } from "./provider_stream.ts";
import { portBidi } from "./port_stream.ts";
import { ForwardedSubscriptions, type HandlerStream, type QueryOutcome } from "./forwarded_subscriptions.ts";
import * as grpc from "@grpc/grpc-js";
import { fromErrorMessage, toErrorMessage } from "./protocol/errors.ts";
import { booleanInstruction, numberInstruction } from "./protocol/instructions.ts";
import { fromMetaData, fromSerializedObject, toMetaData, toSerializedObject } from "./protocol/messages.ts";

interface HandlerEntry {
  readonly name: string;
  readonly component: string;
  readonly handler: QueryHandler;
}

/**
 * Queries through Axon Server.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { AxonQueryBus } from "./query_bus.ts";
 * import { queryOne } from "../queries/query_bus.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * import { GreeterStatusQuerySchema, GreeterStatusSchema } from "../../gen/example/v1/domain_pb.ts";
 * import { AxonConnection } from "./connection.ts";
 * const connection = await AxonConnection.connect({ address: "localhost:8124", componentName: "greeter" });
 * const queryBus = new AxonQueryBus(connection, new MessageRegistry([GreeterStatusSchema]));
 * const status = await queryOne(queryBus, create(GreeterStatusQuerySchema, { greeterId: "main" }), GreeterStatusSchema);
 * ```
 */
export class AxonQueryBus implements QueryBus {
  readonly #connection: AxonConnection;
  readonly #registry: MessageRegistry;
  readonly #handlers = new Map<string, HandlerEntry[]>();
  /** Queries run per name: several local handlers of one query take turns, like the in-process bus. */
  readonly #turns = new Map<string, number>();
  readonly #forwarded: ForwardedSubscriptions;
  readonly #permits: number;
  #stream: HandlerStream | undefined;
  #stopListening: (() => void) | undefined;
  readonly #acks = new Acks();
  readonly #pendingSubscribe = new Map<string, Promise<void>>();
  /** Streaming queries being answered: request id → permits granted by the server. */
  readonly #gates = new Map<string, ResponseGate>();

  /** Query handling and dispatching over `connection`; `permits` is the flow-control window of subscription queries. */
  constructor(connection: AxonConnection, registry: MessageRegistry, options: { permits?: number } = {}) {
    this.#connection = connection;
    this.#registry = registry;
    this.#forwarded = new ForwardedSubscriptions(registry, {
      clientId: connection.clientId,
      componentName: connection.options.componentName,
    });
    this.#permits = Math.max(16, options.permits ?? 1_000);
  }

  #request(query: Message, options: QueryOptions, timeoutMs: number): QueryRequest {
    return create(QueryRequestSchema, {
      messageIdentifier: options.id ?? newMessageId(),
      query: query.$typeName,
      timestamp: BigInt(Date.now()),
      payload: toSerializedObject(this.#registry.encode(query)),
      metaData: toMetaData(options.metadata ?? {}),
      responseType: options.streaming ? STREAMING_RESPONSE_TYPE : undefined,
      processingInstructions: [
        numberInstruction(ProcessingKey.NR_OF_RESULTS, options.streaming ? 1 : -1),
        numberInstruction(ProcessingKey.TIMEOUT, timeoutMs),
        ...(options.streaming ? [booleanInstruction(ProcessingKey.CLIENT_SUPPORTS_STREAMING, true)] : []),
      ],
      clientId: this.#connection.clientId,
      componentName: this.#connection.options.componentName,
    });
  }

  /** Sends the query through the server and yields every handler's responses. */
  async *query(query: Message, options: QueryOptions = {}): AsyncIterable<Message> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    const request = this.#request(query, options, timeoutMs);
    let answered = false;
    let failure: DendriteError | undefined;
    try {
      for await (
        const response of this.#connection.rpc().serverStream(QueryService.method.query, request, {
          signal: options.signal,
          timeoutMs,
        })
      ) {
        if (response.errorCode !== "" || response.errorMessage) {
          if (options.streaming) {
            throw fromErrorMessage(
              response.errorCode,
              response.errorMessage,
              query.$typeName,
              response.payload,
            );
          }
          failure ??= fromErrorMessage(
            response.errorCode,
            response.errorMessage,
            query.$typeName,
            response.payload,
          );
          continue;
        }
        answered = true;
        const payload = fromSerializedObject(response.payload);
        if (payload) yield this.#registry.decode(payload);
      }
    } catch (error) {
      if (error instanceof GrpcError && error.status === grpc.status.DEADLINE_EXCEEDED) {
        throw new TimeoutError(`Query "${query.$typeName}" timed out after ${timeoutMs} ms`, "AXONIQ-5006");
      }
      throw error;
    }
    if (!answered && failure) throw failure;
  }

  /** Subscribes to a query: its initial result, then the updates the handler side emits. */
  async subscriptionQuery(
    query: Message,
    options: SubscriptionQueryOptions = {},
  ): Promise<SubscriptionQueryResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    const subscription = new AxonSubscription(
      this.#connection.rpc(),
      this.#request(query, options, timeoutMs),
      this.#registry,
      { bufferSize: Math.max(32, options.bufferSize ?? 1024), timeoutMs, signal: options.signal },
    );
    return await subscriptionResult(
      (async function* () {
        yield* await subscription.initial;
      })(),
      subscription.updates,
      subscription.close,
      options.signal,
      subscription.taken,
    );
  }

  /** Registers `handler` for queries of `schema` with the server. */
  subscribe<S extends DescMessage>(
    schema: S,
    handler: QueryHandler<MessageShape<S>>,
    options: QuerySubscribeOptions = {},
  ): Promise<Registration> {
    this.#registry.add(schema);
    const entry: HandlerEntry = {
      name: schema.typeName,
      component: options.component ?? this.#connection.options.componentName,
      handler: handler as QueryHandler,
    };
    const list = this.#handlers.get(entry.name) ?? [];
    list.push(entry);
    this.#handlers.set(entry.name, list);
    if (!this.#stopListening) {
      this.#stopListening = this.#connection.onConnect((rpc, signal) => this.#open(rpc, signal));
    } else if (list.length === 1) {
      this.#sendSubscription(entry, "subscribe");
    }
    const registration: Registration = {
      cancel: async () => {
        const remaining = (this.#handlers.get(entry.name) ?? []).filter((e) => e !== entry);
        if (remaining.length > 0) this.#handlers.set(entry.name, remaining);
        else {
          this.#handlers.delete(entry.name);
          this.#turns.delete(entry.name);
          await awaitAck(this.#sendSubscription(entry, "unsubscribe"));
        }
      },
    };
    return awaitAck(this.#pendingSubscribe.get(entry.name)).then(() => registration);
  }

  /** Sends `update` to the subscriptions that `filter` selects (those this instance answers). */
  emitUpdate<Q extends DescMessage>(filter: UpdateFilter<Q>, update: Message): void {
    this.#forwarded.update(this.#stream, filter, update);
  }

  /**
   * Once the handler stream has room for more (its gRPC send buffer, or the port's window): at once while there
   * is no stream (updates have nowhere to go until the server forwards the subscriptions again).
   */
  drained(): Promise<void> {
    return this.#stream?.drained() ?? Promise.resolve();
  }

  /** Completes the subscriptions that `filter` selects (those this instance answers). */
  completeSubscriptions<Q extends DescMessage>(filter: UpdateFilter<Q>): void {
    this.#forwarded.complete(this.#stream, filter);
  }

  /** Stops handling queries and closes the handler stream. */
  async close(): Promise<void> {
    this.#stopListening?.();
    this.#stopListening = undefined;
    const unsubscribed = [...this.#handlers.values()].map((entries) =>
      awaitAck(this.#sendSubscription(entries[0], "unsubscribe"), 2_000)
    );
    this.#handlers.clear();
    await Promise.all(unsubscribed);
    this.#stream?.end();
    this.#stream = undefined;
  }

  /** Sends a (un)subscribe on the current stream; the promise settles with the server's ack. */
  #sendSubscription(entry: HandlerEntry, action: "subscribe" | "unsubscribe"): Promise<void> | undefined {
    if (!this.#stream) return undefined;
    const { id: messageId, acked } = this.#acks.expect();
    if (action === "subscribe") this.#pendingSubscribe.set(entry.name, acked);
    this.#stream.send(create(QueryProviderOutboundSchema, {
      instructionId: messageId,
      request: {
        case: action,
        value: create(QuerySubscriptionSchema, {
          messageId,
          query: entry.name,
          resultName: "",
          componentName: entry.component,
          clientId: this.#connection.clientId,
        }),
      },
    }));
    return acked;
  }

  async #open(rpc: Rpc, signal: AbortSignal): Promise<void> {
    if (this.#handlers.size === 0) return;
    const port = this.#connection.options.queryHandlerPort?.(signal);
    const stream: HandlerStream = port
      ? portBidi(port, signal)
      : rpc.bidi(QueryService.method.openStream, { signal });
    this.#stream = stream;
    this.#forwarded.clear();
    for (const entries of this.#handlers.values()) this.#sendSubscription(entries[0], "subscribe");
    try {
      await new ProviderStream(stream, {
        kind: "query",
        clientId: this.#connection.clientId,
        permits: this.#permits,
        acks: this.#acks,
        outbound: (request) => create(QueryProviderOutboundSchema, { request }),
        receive: (inbound) => this.#receive(stream, inbound.request, signal),
      }).run(signal, () => this.#stopListening !== undefined);
    } finally {
      // After a reconnect the new stream may already hold subscriptions forwarded on it: only a stream that is
      // still the current one takes its subscriptions with it.
      if (this.#stream === stream) {
        this.#stream = undefined;
        this.#forwarded.clear();
      }
    }
  }

  /** One request of the handler stream; a query's answer is returned (its permit comes back when it is done). */
  #receive(
    stream: HandlerStream,
    request: QueryProviderInbound["request"],
    signal: AbortSignal,
  ): Promise<void> | undefined {
    switch (request.case) {
      case "queryFlowControl":
        this.#gates.get(request.value.queryReference?.requestId ?? "")?.grant(Number(request.value.permits));
        return undefined;
      case "queryCancel":
        this.#gates.get(request.value.requestId)?.cancel();
        return undefined;
      case "subscriptionQueryRequest":
        this.#forwarded.receive(stream, request.value.request, (query) => this.#run(query, signal));
        return undefined;
      case "query": {
        const id = request.value.messageIdentifier;
        const gate = isStreamingQuery(request.value) ? new ResponseGate() : undefined;
        if (gate) this.#gates.set(id, gate);
        return this.#answer(stream, request.value, signal, gate).finally(() => {
          if (gate) this.#gates.delete(id);
        });
      }
      default:
        return undefined;
    }
  }

  /** Runs the local handlers of a query: every response, or the error. */
  async #run(
    query: QueryRequest,
    signal: AbortSignal,
  ): Promise<QueryOutcome> {
    try {
      const entries = this.#handlers.get(query.query);
      if (!entries || entries.length === 0) {
        throw new DendriteError("AXONIQ-5000", `No handler for query "${query.query}"`);
      }
      const payload = fromSerializedObject(query.payload);
      if (!payload) throw new DendriteError("AXONIQ-5002", `Query "${query.query}" has no payload`);
      const message: QueryMessage = {
        id: query.messageIdentifier,
        payload: this.#registry.decode(payload),
        metadata: fromMetaData(query.metaData),
        timestamp: Number(query.timestamp),
      };
      const turn = this.#turns.get(query.query) ?? 0;
      this.#turns.set(query.query, turn + 1);
      const entry = entries[turn % entries.length];
      return { responses: [...responsesOf(await entry.handler(message, { signal }))] };
    } catch (error) {
      return { responses: [], error: toErrorMessage(error, this.#connection.clientId, "query") };
    }
  }

  async #answer(
    stream: HandlerStream,
    query: QueryRequest,
    signal: AbortSignal,
    gate?: ResponseGate,
  ): Promise<void> {
    const outcome = await this.#run(query, signal);
    const respond = (fields: Parameters<typeof create<typeof QueryResponseSchema>>[1]) =>
      stream.send(create(QueryProviderOutboundSchema, {
        request: {
          case: "queryResponse",
          value: create(QueryResponseSchema, {
            messageIdentifier: newMessageId(),
            requestIdentifier: query.messageIdentifier,
            ...fields,
          }),
        },
      }));
    if (outcome.error && (!gate || await gate.take(signal))) {
      respond({
        errorCode: outcome.error.code,
        errorMessage: outcome.error.message,
        payload: outcome.error.details,
      });
    }
    for (const response of outcome.responses) {
      if (gate && !(await gate.take(signal))) break;
      respond({ payload: toSerializedObject(this.#registry.encode(response)) });
    }
    if (gate?.cancelled || signal.aborted) return;
    stream.send(create(QueryProviderOutboundSchema, {
      request: {
        case: "queryComplete",
        value: create(QueryCompleteSchema, { messageId: newMessageId(), requestId: query.messageIdentifier }),
      },
    }));
  }
}
