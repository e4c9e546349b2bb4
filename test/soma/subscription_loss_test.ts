/**
 * A subscription query whose handler's connection is lost completes exceptionally (AXONIQ-4001), so the
 * subscriber knows updates may be missing; a handler that unsubscribes before it leaves takes nothing with it.
 */
import { assert, assertEquals } from "../assert.ts";
import type { SubscriptionQueryResponse } from "../../src/gen/axon/query_pb.ts";
import { Inbox, queries, RawClient, testSoma } from "./raw_client.ts";
import { Handler, query, subscriptionRequest, text } from "./raw_query_handler.ts";

function update(handler: Handler, subscriptionId: string, data: string): void {
  handler.update(subscriptionId, {
    case: "update",
    value: {
      $typeName: "io.axoniq.axonserver.grpc.query.QueryUpdate",
      messageIdentifier: crypto.randomUUID(),
      payload: {
        $typeName: "io.axoniq.axonserver.grpc.SerializedObject",
        type: "u",
        revision: "",
        data: new TextEncoder().encode(data),
      },
      metaData: {},
      clientId: handler.clientId,
      componentName: handler.component,
      errorCode: "",
      errorMessage: undefined,
    },
  });
}

async function forwarded(handler: Handler, subscriptionId: string): Promise<void> {
  await handler.inbox.next((m) =>
    m.request.case === "subscriptionQueryRequest" && m.request.value.request.case === "subscribe" &&
    m.request.value.request.value.subscriptionIdentifier === subscriptionId
  );
}

Deno.test("soma subscription queries: a handler lost while subscribed ends them with AXONIQ-4001, one that unsubscribed first does not", async () => {
  const { soma, dispose } = await testSoma();
  const clients = [new RawClient(soma.port), new RawClient(soma.port), new RawClient(soma.port)];
  const leaving = new Handler(clients[0], "leaving", "H");
  const staying = new Handler(clients[1], "staying", "H2");
  try {
    for (const handler of [leaving, staying]) {
      await handler.subscribe("Watch");
      handler.permits(100);
    }
    const call = clients[2].bidi(queries.subscription);
    const inbox = new Inbox<SubscriptionQueryResponse>(call);
    const sub = {
      $typeName: "io.axoniq.axonserver.grpc.query.SubscriptionQuery",
      subscriptionIdentifier: "sub-1",
      numberOfPermits: 100n,
      queryRequest: query("Watch"),
    } as const;
    call.write(subscriptionRequest({ case: "subscribe", value: sub }));
    call.write(subscriptionRequest({ case: "flowControl", value: sub }));
    await forwarded(leaving, "sub-1");
    await forwarded(staying, "sub-1");

    // A clean leave: unsubscribe, then end the stream. The subscription goes on with the other handler.
    await leaving.unsubscribe("Watch");
    leaving.call.end();
    await new Promise<void>((resolve) => leaving.call.on("close", () => resolve()));
    update(staying, "sub-1", "after the clean leave");
    const first = await inbox.next((m) => m.response.case !== undefined);
    assert(first.response.case === "update", `got ${first.response.case}`);
    assertEquals(text(first.response.value.payload?.data), "after the clean leave");

    // A lost connection while subscribed: the subscriber hears AXONIQ-4001 instead of a silent gap.
    staying.call.cancel();
    const lost = await inbox.next((m) => m.response.case !== "update");
    assert(lost.response.case === "completeExceptionally", `got ${lost.response.case}`);
    assertEquals(lost.response.value.errorCode, "AXONIQ-4001");
    assert(lost.response.value.errorMessage?.message.includes("subscribe again"));
    assertEquals((await soma.status()).subscriptionQueries, 0);
  } finally {
    for (const client of clients) client.close();
    await dispose();
  }
});
