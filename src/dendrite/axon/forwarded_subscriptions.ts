/**
 * The handler side of subscription queries in the connector: the subscriptions the server forwarded to this
 * instance (`subscription_query_request` on the query handler stream), their initial results, and the updates
 * and completions `emitUpdate` / `completeSubscriptions` send for them.
 *
 * @module
 */
import { create, type DescMessage, type Message, type MessageShape } from "@bufbuild/protobuf";
import {
  type QueryProviderInbound,
  type QueryProviderOutbound,
  QueryProviderOutboundSchema,
  type QueryRequest,
  QueryResponseSchema,
  QueryUpdateCompleteSchema,
  QueryUpdateSchema,
  type SubscriptionQueryRequest,
  type SubscriptionQueryResponse,
  SubscriptionQueryResponseSchema,
} from "../../gen/axon/query_pb.ts";
import { newMessageId } from "../core/message.ts";
import type { MessageRegistry } from "../core/registry.ts";
import type { UpdateFilter } from "../queries/query_bus.ts";
import type { BidiStream } from "./rpc.ts";
import type { toErrorMessage } from "./protocol/errors.ts";
import { fromSerializedObject, toSerializedObject } from "./protocol/messages.ts";

/** The query handler stream these subscriptions are answered on. */
export type HandlerStream = BidiStream<QueryProviderOutbound, QueryProviderInbound>;

/** What running a query's local handlers gave: every response, or the error. */
export interface QueryOutcome {
  readonly responses: readonly Message[];
  readonly error?: ReturnType<typeof toErrorMessage>;
}

/** A subscription query the server forwarded to this handler instance. */
interface Forwarded {
  readonly id: string;
  readonly name: string;
  readonly query: Message;
}

/**
 * The forwarded subscriptions of one connector.
 */
export class ForwardedSubscriptions {
  readonly #registry: MessageRegistry;
  readonly #identity: { readonly clientId: string; readonly componentName: string };
  readonly #forwarded = new Map<string, Forwarded>();

  constructor(
    registry: MessageRegistry,
    identity: { readonly clientId: string; readonly componentName: string },
  ) {
    this.#registry = registry;
    this.#identity = identity;
  }

  /** Forgets every subscription (the stream they came on is gone; the server forwards them again). */
  clear(): void {
    this.#forwarded.clear();
  }

  /** A subscription-query request from the server; `run` answers an initial-result request. */
  receive(
    stream: HandlerStream,
    request: SubscriptionQueryRequest["request"],
    run: (query: QueryRequest) => Promise<QueryOutcome>,
  ): void {
    if (request.case === "unsubscribe") {
      this.#forwarded.delete(request.value.subscriptionIdentifier);
      return;
    }
    if (request.case !== "subscribe" && request.case !== "getInitialResult") return;
    const query = request.value.queryRequest;
    const payload = fromSerializedObject(query?.payload);
    if (!query || !payload) return;
    const id = request.value.subscriptionIdentifier;
    if (request.case === "subscribe") {
      this.#forwarded.set(id, { id, name: query.query, query: this.#registry.decode(payload) });
      return;
    }
    void run(query).then((outcome) => this.#initialResult(stream, id, query, outcome));
  }

  /** Sends `update` to every matching subscription. */
  update<Q extends DescMessage>(
    stream: HandlerStream | undefined,
    filter: UpdateFilter<Q>,
    update: Message,
  ): void {
    const payload = toSerializedObject(this.#registry.encode(update));
    for (const forwarded of this.#matching(filter)) {
      this.#respond(stream, forwarded.id, {
        case: "update",
        value: create(QueryUpdateSchema, { messageIdentifier: newMessageId(), payload, ...this.#identity }),
      });
    }
  }

  /** Completes every matching subscription. */
  complete<Q extends DescMessage>(stream: HandlerStream | undefined, filter: UpdateFilter<Q>): void {
    for (const forwarded of this.#matching(filter)) {
      this.#forwarded.delete(forwarded.id);
      this.#respond(stream, forwarded.id, {
        case: "complete",
        value: create(QueryUpdateCompleteSchema, this.#identity),
      });
    }
  }

  #initialResult(stream: HandlerStream, id: string, query: QueryRequest, outcome: QueryOutcome): void {
    const first = outcome.responses[0];
    this.#respond(stream, id, {
      case: "initialResult",
      value: create(QueryResponseSchema, {
        messageIdentifier: newMessageId(),
        requestIdentifier: query.messageIdentifier,
        ...(outcome.error
          ? {
            errorCode: outcome.error.code,
            errorMessage: outcome.error.message,
            payload: outcome.error.details,
          }
          : { payload: first ? toSerializedObject(this.#registry.encode(first)) : undefined }),
      }),
    });
  }

  #matching<Q extends DescMessage>(filter: UpdateFilter<Q>): Forwarded[] {
    return [...this.#forwarded.values()].filter((f) =>
      f.name === filter.query.typeName && (!filter.where || filter.where(f.query as MessageShape<Q>))
    );
  }

  /** Sends a response to a subscription query the server forwarded to this handler instance. */
  #respond(
    stream: HandlerStream | undefined,
    subscriptionIdentifier: string,
    response: SubscriptionQueryResponse["response"],
  ): void {
    stream?.send(create(QueryProviderOutboundSchema, {
      request: {
        case: "subscriptionQueryResponse",
        value: create(SubscriptionQueryResponseSchema, {
          messageIdentifier: newMessageId(),
          subscriptionIdentifier,
          response,
        }),
      },
    }));
  }
}
