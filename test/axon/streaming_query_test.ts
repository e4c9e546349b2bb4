/**
 * Streaming queries (Axon's `streamingQuery`) with the current API's flow control, both ways through soma:
 * soma grants a handler `QueryFlowControl` permits per query as the caller takes results and sends `query_cancel`
 * when the caller leaves; the connector streams results to a caller as they come and answers under permits.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { assert, assertEquals, eventually } from "../assert.ts";
import { ProcessingKey } from "../../src/gen/axon/common_pb.ts";
import {
  type QueryProviderInbound,
  type QueryProviderOutbound,
  QueryProviderOutboundSchema,
  QueryResponseSchema,
  QuerySubscriptionSchema,
} from "../../src/gen/axon/query_pb.ts";
import { GreetingListSchema, SearchQuerySchema } from "../../src/gen/example/v1/domain_pb.ts";
import { GreetingSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { Inbox, queries, RawClient } from "../soma/raw_client.ts";
import { connector, startServer } from "./fixture.ts";

const page = (message: string) =>
  create(GreetingListSchema, { greetings: [create(GreetingSchema, { message })] });

Deno.test("streaming query: a flow-controlled gRPC handler gets permits per query, results stream, leaving cancels", async () => {
  const server = await startServer();
  const raw = new RawClient(server.soma!.port);
  const caller = await connector(server, "caller");
  const call = raw.bidi(queries.openStream);
  const inbox = new Inbox<QueryProviderInbound>(call);
  const send = (request: QueryProviderOutbound["request"], instructionId = "") =>
    call.write(create(QueryProviderOutboundSchema, { request, instructionId }));
  try {
    send({
      case: "subscribe",
      value: create(QuerySubscriptionSchema, {
        messageId: "s1",
        query: SearchQuerySchema.typeName,
        componentName: "java-like",
        clientId: "java-like-1",
      }),
    }, "s1");
    send({
      case: "flowControl",
      value: { $typeName: "io.axoniq.axonserver.grpc.FlowControl", clientId: "java-like-1", permits: 10n },
    });
    await inbox.next((m) => m.request.case === "ack");

    const results = caller.queryBus.query(create(SearchQuerySchema, { query: "x" }), { streaming: true })
      [Symbol.asyncIterator]();
    const first = results.next();
    const delivered = await inbox.next((m) => m.request.case === "query");
    const query = delivered.request.case === "query" ? delivered.request.value : undefined;
    assert(query);
    const flag = (key: ProcessingKey) =>
      query.processingInstructions.find((i) => i.key === key)?.value?.data.value;
    assertEquals([
      flag(ProcessingKey.SERVER_SUPPORTS_STREAMING),
      flag(ProcessingKey.CLIENT_SUPPORTS_STREAMING),
    ], [
      true,
      true,
    ]);
    const granted = () =>
      inbox.messages.reduce(
        (sum, m) =>
          m.request.case === "queryFlowControl" &&
            m.request.value.queryReference?.requestId === query.messageIdentifier
            ? sum + Number(m.request.value.permits)
            : sum,
        0,
      );
    await eventually(() => granted() === 32, 5_000);

    const respond = (message: string) =>
      send({
        case: "queryResponse",
        value: create(QueryResponseSchema, {
          messageIdentifier: crypto.randomUUID(),
          requestIdentifier: query.messageIdentifier,
          payload: {
            type: GreetingListSchema.typeName,
            data: toBinary(GreetingListSchema, page(message)),
          },
        }),
      });
    respond("one");
    const one = await first;
    assertEquals(one.done, false);
    assertEquals(one.value, page("one"));
    respond("two");
    assertEquals((await results.next()).value, page("two"));
    await eventually(() => granted() === 34, 5_000);

    await results.return?.();
    const cancel = await inbox.next((m) => m.request.case === "queryCancel");
    assert(
      cancel.request.case === "queryCancel" && cancel.request.value.requestId === query.messageIdentifier,
    );
  } finally {
    call.end();
    raw.close();
    await caller.close();
    await server.close();
  }
});

Deno.test("streaming query: a connector handler answers under permits; a connector caller takes all or leaves early", async () => {
  const server = await startServer();
  const [handler, caller] = await Promise.all([connector(server, "handler"), connector(server, "caller")]);
  try {
    await handler.queryBus.subscribe(
      SearchQuerySchema,
      ({ payload }) => Promise.resolve(Array.from({ length: payload.limit }, (_, i) => page(`r${i}`))),
    );
    const all: string[] = [];
    for await (
      const response of caller.queryBus.query(create(SearchQuerySchema, { limit: 100 }), { streaming: true })
    ) {
      assertEquals(response.$typeName, GreetingListSchema.typeName);
      all.push((response as ReturnType<typeof page>).greetings[0].message);
    }
    assertEquals(all, Array.from({ length: 100 }, (_, i) => `r${i}`));

    let taken = 0;
    for await (
      const _ of caller.queryBus.query(create(SearchQuerySchema, { limit: 100 }), { streaming: true })
    ) {
      if (++taken === 3) break;
    }
    assertEquals(taken, 3);
  } finally {
    await Promise.all([handler.close(), caller.close()]);
    await server.close();
  }
});
