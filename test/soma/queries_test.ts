/**
 * soma's QueryService with raw grpc-js handler streams, queries and subscription queries.
 */
import { create } from "@bufbuild/protobuf";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { assert, assertEquals, eventually } from "../assert.ts";
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
import { collect, Inbox, queries, RawClient, testSoma } from "./raw_client.ts";

type Behaviour = "answer" | "fail" | "silent";

/** A query handler connected over gRPC. */
class Handler {
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

  async subscribe(query: string): Promise<void> {
    const id = crypto.randomUUID();
    this.send({
      case: "subscribe",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QuerySubscription",
        messageId: id,
        query,
        resultName: "",
        componentName: this.component,
        clientId: this.clientId,
      },
    }, id);
    await this.inbox.next((m) => m.request.case === "ack" && m.request.value.instructionId === id);
  }

  permits(permits: number): void {
    this.send({
      case: "flowControl",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.FlowControl",
        clientId: this.clientId,
        permits: BigInt(permits),
      },
    });
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

function query(name: string, timeoutMs?: number, id: string = crypto.randomUUID()): QueryRequest {
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

const text = (data: Uint8Array | undefined) => new TextDecoder().decode(data);

Deno.test("soma queries: no handler is one AXONIQ-5000 response", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    const responses = await collect(client.serverStream(queries.query, query("Nobody")));
    assertEquals(responses.length, 1);
    assertEquals(responses[0].errorCode, "AXONIQ-5000");
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma queries: one handler per component, round robin within it, complete when all complete", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  const a1 = new Handler(client, "a1", "A");
  const a2 = new Handler(client, "a2", "A");
  const b1 = new Handler(client, "b1", "B");
  try {
    for (const h of [a1, a2, b1]) {
      await h.subscribe("Find");
      h.permits(100);
    }
    const seen: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const responses = await collect(client.serverStream(queries.query, query("Find")));
      seen.push(responses.map((r) => text(r.payload?.data)).sort());
    }
    for (const answers of seen) {
      assertEquals(answers.length, 2);
      assert(answers.includes("b1"));
    }
    assertEquals(seen.filter((s) => s.includes("a1")).length, 2);
    assertEquals(seen.filter((s) => s.includes("a2")).length, 2);
    // handlers get no queries before permits
    const late = new Handler(client, "late", "C");
    await late.subscribe("Late");
    const pending = collect(client.serverStream(queries.query, query("Late", 5_000)));
    await late.subscribe("Ping");
    assertEquals(late.queries.length, 0);
    late.permits(1);
    assertEquals((await pending).map((r) => text(r.payload?.data)), ["late"]);
    late.call.end();
  } finally {
    for (const h of [a1, a2, b1]) h.call.end();
    client.close();
    await dispose();
  }
});

Deno.test("soma queries: errors are held back unless nothing succeeds; TIMEOUT ends the query", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  const good = new Handler(client, "good", "G");
  const bad = new Handler(client, "bad", "B");
  bad.behaviour = "fail";
  try {
    for (const h of [good, bad]) {
      await h.subscribe("Mixed");
      h.permits(100);
    }
    const mixed = await collect(client.serverStream(queries.query, query("Mixed")));
    assertEquals(mixed.map((r) => [r.errorCode, text(r.payload?.data)]), [["", "good"]]);
    good.behaviour = "fail";
    const failed = await collect(client.serverStream(queries.query, query("Mixed")));
    assertEquals(failed.length, 1);
    assertEquals(failed[0].errorCode, "AXONIQ-5001");
    // a silent handler: the query ends at its TIMEOUT with AXONIQ-5006
    const silent = new Handler(client, "silent", "S");
    silent.behaviour = "silent";
    await silent.subscribe("Quiet");
    silent.permits(10);
    const started = Date.now();
    const timedOut = await collect(client.serverStream(queries.query, query("Quiet", 300)));
    assert(Date.now() - started >= 250);
    assertEquals(timedOut.map((r) => r.errorCode), ["AXONIQ-5006"]);
    // the handler saw the remaining time as TIMEOUT
    const forwarded = silent.queries[0].processingInstructions.find((p) => p.key === ProcessingKey.TIMEOUT);
    assert(forwarded?.value?.data.case === "numberValue" && forwarded.value.data.value <= 300n);
    silent.call.end();
  } finally {
    good.call.end();
    bad.call.end();
    client.close();
    await dispose();
  }
});

function subscriptionRequest(request: SubscriptionQueryRequest["request"]): SubscriptionQueryRequest {
  return create(SubscriptionQueryRequestSchema, { request });
}

Deno.test("soma subscription queries: permits, initial result, updates, completion and unsubscribe on stream end", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  const handler = new Handler(client, "h", "H");
  try {
    await handler.subscribe("Watch");
    handler.permits(100);
    const call = client.bidi(queries.subscription);
    const inbox = new Inbox<SubscriptionQueryResponse>(call);
    const request = query("Watch");
    const sub = {
      $typeName: "io.axoniq.axonserver.grpc.query.SubscriptionQuery",
      subscriptionIdentifier: "sub-1",
      numberOfPermits: 0n,
      queryRequest: request,
    } as const;
    call.write(subscriptionRequest({ case: "subscribe", value: sub }));
    // the handler is told about the subscription
    await handler.inbox.next((m) =>
      m.request.case === "subscriptionQueryRequest" && m.request.value.request.case === "subscribe"
    );
    call.write(subscriptionRequest({ case: "getInitialResult", value: sub }));
    handler.update("sub-1", {
      case: "update",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdate",
        messageIdentifier: "u1",
        payload: {
          $typeName: "io.axoniq.axonserver.grpc.SerializedObject",
          type: "u",
          revision: "",
          data: new TextEncoder().encode("one"),
        },
        metaData: {},
        clientId: "h",
        componentName: "H",
        errorCode: "",
        errorMessage: undefined,
      },
    });
    // nothing arrives without permits
    await handler.subscribe("Ping");
    assertEquals(inbox.messages.length, 0);
    call.write(subscriptionRequest({ case: "flowControl", value: { ...sub, numberOfPermits: 10n } }));
    const initial = await inbox.next((m) => m.response.case === "initialResult");
    assert(initial.response.case === "initialResult");
    assertEquals(text(initial.response.value.payload?.data), "h");
    const update = await inbox.next((m) => m.response.case === "update");
    assert(update.response.case === "update");
    assertEquals(text(update.response.value.payload?.data), "one");
    handler.update("sub-1", {
      case: "complete",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdateComplete",
        clientId: "h",
        componentName: "H",
      },
    });
    await inbox.next((m) => m.response.case === "complete");
    // an update for an unknown subscription makes soma tell the handler to unsubscribe
    handler.update("sub-1", {
      case: "update",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdate",
        messageIdentifier: "u2",
        payload: undefined,
        metaData: {},
        clientId: "h",
        componentName: "H",
        errorCode: "",
        errorMessage: undefined,
      },
    });
    await handler.inbox.next((m) =>
      m.request.case === "subscriptionQueryRequest" && m.request.value.request.case === "unsubscribe" &&
      m.request.value.request.value.subscriptionIdentifier === "sub-1"
    );
    // a second subscription, completed exceptionally
    const sub2 = { ...sub, subscriptionIdentifier: "sub-2", queryRequest: query("Watch") };
    call.write(subscriptionRequest({ case: "subscribe", value: sub2 }));
    await handler.inbox.next((m) =>
      m.request.case === "subscriptionQueryRequest" &&
      m.request.value.request.value?.subscriptionIdentifier === "sub-2"
    );
    handler.update("sub-2", {
      case: "completeExceptionally",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdateCompleteExceptionally",
        clientId: "h",
        componentName: "H",
        errorCode: "AXONIQ-5001",
        errorMessage: undefined,
      },
    });
    const failed = await inbox.next((m) => m.response.case === "completeExceptionally");
    assert(failed.response.case === "completeExceptionally");
    assertEquals(failed.response.value.errorCode, "AXONIQ-5001");
    // a third one, ended by the caller's stream ending: the handler gets unsubscribe
    const sub3 = { ...sub, subscriptionIdentifier: "sub-3", queryRequest: query("Watch") };
    call.write(subscriptionRequest({ case: "subscribe", value: sub3 }));
    await handler.inbox.next((m) =>
      m.request.case === "subscriptionQueryRequest" &&
      m.request.value.request.value?.subscriptionIdentifier === "sub-3"
    );
    call.end();
    await handler.inbox.next((m) =>
      m.request.case === "subscriptionQueryRequest" && m.request.value.request.case === "unsubscribe" &&
      m.request.value.request.value?.subscriptionIdentifier === "sub-3"
    );
    await eventually(async () => (await soma.status()).subscriptionQueries === 0);
  } finally {
    handler.call.end();
    client.close();
    await dispose();
  }
});
