/**
 * A query handler on another thread's end of a `MessagePort` (`Soma.serveQueryHandler`, the connector's
 * `portBidi`): queries from gRPC callers reach it, its subscription updates reach gRPC subscribers, and when its
 * thread is gone (the end function) its subscribers hear AXONIQ-4001 and its stream ends.
 */
import { create } from "@bufbuild/protobuf";
import { assert, assertEquals, eventually } from "../assert.ts";
import { portBidi } from "../../src/dendrite/axon/port_stream.ts";
import {
  type QueryProviderInbound,
  type QueryProviderOutbound,
  QueryProviderOutboundSchema,
  type SubscriptionQueryResponse,
} from "../../src/gen/axon/query_pb.ts";
import { collect, Inbox, queries, RawClient, testSoma } from "./raw_client.ts";
import { query, subscriptionRequest, text } from "./raw_query_handler.ts";

const payload = (data: string) => ({
  $typeName: "io.axoniq.axonserver.grpc.SerializedObject" as const,
  type: "answer",
  revision: "",
  data: new TextEncoder().encode(data),
});

Deno.test("soma serves a query handler over a MessagePort: queries, subscription updates, and its end", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  const { port1, port2 } = new MessageChannel();
  let ended = 0;
  const end = soma.serveQueryHandler(port2, () => ended++);
  const stream = portBidi<QueryProviderOutbound, QueryProviderInbound>(port1);
  const send = (request: QueryProviderOutbound["request"], instructionId = "") =>
    stream.send(create(QueryProviderOutboundSchema, { request, instructionId }));
  const inbound: QueryProviderInbound[] = [];
  const reading = (async () => {
    for await (const message of stream.responses) inbound.push(message);
  })();
  const received = async <C extends QueryProviderInbound["request"]["case"]>(kind: C) => {
    await eventually(() => inbound.some((m) => m.request.case === kind), 5_000, kind);
    const found = inbound.find((m) => m.request.case === kind)!;
    inbound.splice(inbound.indexOf(found), 1);
    return found.request as Extract<QueryProviderInbound["request"], { case: C }>;
  };
  try {
    send({
      case: "subscribe",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QuerySubscription",
        messageId: "s1",
        query: "Find",
        resultName: "",
        componentName: "worker",
        clientId: "worker-1",
      },
    }, "s1");
    assertEquals((await received("ack")).value.instructionId, "s1");
    send({
      case: "flowControl",
      value: { $typeName: "io.axoniq.axonserver.grpc.FlowControl", clientId: "worker-1", permits: 10n },
    });

    // A gRPC caller's query is answered by the handler on the port.
    const answers = collect(client.serverStream(queries.query, query("Find")));
    const asked = await received("query");
    send({
      case: "queryResponse",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QueryResponse",
        messageIdentifier: "r1",
        requestIdentifier: asked.value.messageIdentifier,
        errorCode: "",
        payload: payload("over the port"),
        metaData: {},
        processingInstructions: [],
      },
    });
    send({
      case: "queryComplete",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QueryComplete",
        messageId: "c1",
        requestId: asked.value.messageIdentifier,
      },
    });
    assertEquals((await answers).map((r) => text(r.payload?.data)), ["over the port"]);

    // A gRPC subscriber gets the port handler's updates.
    const call = client.bidi(queries.subscription);
    const inbox = new Inbox<SubscriptionQueryResponse>(call);
    const sub = {
      $typeName: "io.axoniq.axonserver.grpc.query.SubscriptionQuery" as const,
      subscriptionIdentifier: "sub-1",
      numberOfPermits: 10n,
      queryRequest: query("Find"),
    };
    call.write(subscriptionRequest({ case: "subscribe", value: sub }));
    call.write(subscriptionRequest({ case: "flowControl", value: sub }));
    const forwarded = await received("subscriptionQueryRequest");
    assertEquals(forwarded.value.request.value?.subscriptionIdentifier, "sub-1");
    send({
      case: "subscriptionQueryResponse",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.SubscriptionQueryResponse",
        messageIdentifier: "u1",
        subscriptionIdentifier: "sub-1",
        response: {
          case: "update",
          value: {
            $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdate",
            messageIdentifier: "u1",
            payload: payload("an update"),
            metaData: {},
            clientId: "worker-1",
            componentName: "worker",
            errorCode: "",
          },
        },
      },
    });
    const update = await inbox.next((m) => m.response.case !== undefined);
    assert(update.response.case === "update", `got ${update.response.case}`);
    assertEquals(text(update.response.value.payload?.data), "an update");

    // Its thread is gone: the subscriber hears AXONIQ-4001, the handler's stream ends, soma forgets it.
    end();
    const lost = await inbox.next((m) => m.response.case !== "update");
    assert(lost.response.case === "completeExceptionally", `got ${lost.response.case}`);
    assertEquals(lost.response.value.errorCode, "AXONIQ-4001");
    const noHandler = await collect(client.serverStream(queries.query, query("Find")));
    assertEquals(noHandler[0].errorCode, "AXONIQ-5000");
    assertEquals(ended, 1, "onEnd once the stream is over");
    call.end();
  } finally {
    stream.cancel();
    await reading;
    client.close();
    await dispose();
  }
});

Deno.test("soma's end of a port stream is over when its client cancels or half-closes: onEnd, once", async () => {
  const { soma, dispose } = await testSoma();
  try {
    for (const leave of ["cancel", "end"] as const) {
      const { port1, port2 } = new MessageChannel();
      let ended = 0;
      const end = soma.serveQueryHandler(port2, () => ended++);
      const stream = portBidi<QueryProviderOutbound, QueryProviderInbound>(port1);
      const reading = (async () => {
        for await (const _ of stream.responses);
      })();
      if (leave === "cancel") stream.cancel();
      else stream.end();
      await eventually(() => ended === 1, 5_000, `onEnd after the client's ${leave}`);
      end();
      assertEquals(ended, 1, "ending it again changes nothing");
      stream.cancel();
      await reading;
    }
  } finally {
    await dispose();
  }
});
