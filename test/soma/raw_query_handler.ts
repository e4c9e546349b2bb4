/**
 * A query handler and a subscriber speaking soma's QueryService with raw grpc-js calls, for soma's query tests.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { ProcessingKey } from "../../src/gen/axon/common_pb.ts";
import {
  type QueryProviderInbound,
  type QueryProviderOutbound,
  QueryProviderOutboundSchema,
  type QueryRequest,
  QueryRequestSchema,
  type SubscriptionQueryRequest,
  SubscriptionQueryRequestSchema,
  type SubscriptionQueryResponse,
} from "../../src/gen/axon/query_pb.ts";
import { ackOf, flowControl, Inbox, queries, type RawClient } from "./raw_client.ts";

export type Behaviour = "answer" | "fail" | "silent";

/** A query handler connected over gRPC. */
export class Handler {
  readonly call: ClientDuplexStream<QueryProviderOutbound, QueryProviderInbound>;
  readonly inbox: Inbox<QueryProviderInbound>;
  readonly queries: QueryRequest[] = [];
  behaviour: Behaviour = "answer";

  constructor(client: RawClient, readonly clientId: string, readonly component: string) {
    this.call = client.bidi(queries.openStream);
    this.inbox = new Inbox(this.call);
    this.call.on("data", (message: QueryProviderInbound) => {
      if (message.request.case !== "query") return;
      const query = message.request.value;
      this.queries.push(query);
      if (this.behaviour === "silent") return;
      this.respond(query.messageIdentifier, this.behaviour === "fail");
      this.send({
        case: "queryComplete",
        value: {
          $typeName: "io.axoniq.axonserver.grpc.query.QueryComplete",
          messageId: crypto.randomUUID(),
          requestId: query.messageIdentifier,
        },
      });
    });
  }

  send(request: QueryProviderOutbound["request"], instructionId = ""): void {
    this.call.write(create(QueryProviderOutboundSchema, { request, instructionId }));
  }

  respond(requestId: string, error = false): void {
    this.send({
      case: "queryResponse",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QueryResponse",
        messageIdentifier: crypto.randomUUID(),
        requestIdentifier: requestId,
        errorCode: error ? "AXONIQ-5001" : "",
        errorMessage: error
          ? {
            $typeName: "io.axoniq.axonserver.grpc.ErrorMessage",
            message: `${this.clientId} failed`,
            location: this.clientId,
            details: [],
            errorCode: "AXONIQ-5001",
          }
          : undefined,
        payload: error ? undefined : {
          $typeName: "io.axoniq.axonserver.grpc.SerializedObject",
          type: "answer",
          revision: "",
          data: new TextEncoder().encode(this.clientId),
        },
        metaData: {},
        processingInstructions: [],
      },
    });
  }

  subscribe(query: string): Promise<void> {
    return this.#subscription("subscribe", query);
  }

  unsubscribe(query: string): Promise<void> {
    return this.#subscription("unsubscribe", query);
  }

  async #subscription(kind: "subscribe" | "unsubscribe", query: string): Promise<void> {
    const id = crypto.randomUUID();
    this.send({
      case: kind,
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QuerySubscription",
        messageId: id,
        query,
        resultName: "",
        componentName: this.component,
        clientId: this.clientId,
      },
    }, id);
    await this.inbox.next(ackOf(id));
  }

  permits(permits: number): void {
    this.send(flowControl(this.clientId, permits));
  }

  update(subscriptionId: string, response: SubscriptionQueryResponse["response"]): void {
    this.send({
      case: "subscriptionQueryResponse",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.SubscriptionQueryResponse",
        messageIdentifier: crypto.randomUUID(),
        subscriptionIdentifier: subscriptionId,
        response,
      },
    });
  }
}

export function query(name: string, timeoutMs?: number, id: string = crypto.randomUUID()): QueryRequest {
  return create(QueryRequestSchema, {
    messageIdentifier: id,
    query: name,
    timestamp: BigInt(Date.now()),
    payload: { type: name, revision: "", data: new Uint8Array([9]) },
    processingInstructions: timeoutMs === undefined
      ? []
      : [{ key: ProcessingKey.TIMEOUT, value: { data: { case: "numberValue", value: BigInt(timeoutMs) } } }],
    clientId: "caller",
    componentName: "caller",
  });
}

export const text = (data: Uint8Array | undefined) => new TextDecoder().decode(data);

export function subscriptionRequest(request: SubscriptionQueryRequest["request"]): SubscriptionQueryRequest {
  return create(SubscriptionQueryRequestSchema, { request });
}
