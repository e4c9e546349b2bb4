/**
 * soma bounds the subscription queries of gRPC clients per client id and in all: beyond a limit a subscription
 * completes exceptionally with AXONIQ-1900 and a message naming the limit; the stream and the server keep serving,
 * and a freed slot can be taken again.
 */
import { create } from "@bufbuild/protobuf";
import { assert, assertEquals, eventually } from "../assert.ts";
import {
  QueryRequestSchema,
  type SubscriptionQueryRequest,
  SubscriptionQueryRequestSchema,
  type SubscriptionQueryResponse,
  SubscriptionQuerySchema,
} from "../../src/gen/axon/query_pb.ts";
import { Inbox, queries, RawClient, testSoma } from "../soma/raw_client.ts";

function subscribe(client: string, id: string): SubscriptionQueryRequest {
  const queryRequest = create(QueryRequestSchema, {
    messageIdentifier: crypto.randomUUID(),
    query: "Watch",
    timestamp: BigInt(Date.now()),
    payload: { type: "Watch", revision: "", data: new Uint8Array([1]) },
    clientId: client,
    componentName: client,
  });
  const value = create(SubscriptionQuerySchema, { subscriptionIdentifier: id, queryRequest });
  return create(SubscriptionQueryRequestSchema, { request: { case: "subscribe", value } });
}

Deno.test("soma: subscription queries are bounded per client id and in all (AXONIQ-1900 beyond)", async () => {
  const { soma, dispose } = await testSoma({ subscriptionLimits: { maxTotal: 3, maxPerClient: 2 } });
  const client = new RawClient(soma.port);
  try {
    const call = client.bidi(queries.subscription);
    const inbox = new Inbox<SubscriptionQueryResponse>(call);
    call.write(create(SubscriptionQueryRequestSchema, {
      request: { case: "flowControl", value: create(SubscriptionQuerySchema, { numberOfPermits: 100n }) },
    }));
    const refused = async (id: string) => {
      const message = await inbox.next((m) =>
        m.subscriptionIdentifier === id && m.response.case === "completeExceptionally"
      );
      assert(message.response.case === "completeExceptionally");
      return message.response.value;
    };
    call.write(subscribe("a", "a-1"));
    call.write(subscribe("a", "a-2"));
    call.write(subscribe("a", "a-3"));
    const perClient = await refused("a-3");
    assertEquals(perClient.errorCode, "AXONIQ-1900");
    assert(perClient.errorMessage?.message.includes("from this client"), perClient.errorMessage?.message);
    call.write(subscribe("b", "b-1"));
    call.write(subscribe("b", "b-2"));
    const total = await refused("b-2");
    assert(total.errorMessage?.message.includes("in all"), total.errorMessage?.message);
    assertEquals((await soma.status()).subscriptionQueries, 3);

    // A freed slot is free again.
    call.write(create(SubscriptionQueryRequestSchema, {
      request: {
        case: "unsubscribe",
        value: create(SubscriptionQuerySchema, { subscriptionIdentifier: "a-1" }),
      },
    }));
    await eventually(async () => (await soma.status()).subscriptionQueries === 2, 5_000, "a-1 closed");
    call.write(subscribe("b", "b-3"));
    await eventually(async () => (await soma.status()).subscriptionQueries === 3, 5_000, "b-3 open");
    assertEquals(
      inbox.messages.filter((m) => m.subscriptionIdentifier === "b-3").length,
      0,
      "b-3 not refused",
    );
    call.end();
    await eventually(async () => (await soma.status()).subscriptionQueries === 0, 5_000, "all closed");
  } finally {
    client.close();
    await dispose();
  }
});
