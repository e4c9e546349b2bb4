/**
 * soma's QueryService with raw grpc-js handler streams, queries and subscription queries.
 */
import { assert, assertEquals, eventually } from "../assert.ts";
import { ProcessingKey } from "../../src/gen/axon/common_pb.ts";
import type { SubscriptionQueryResponse } from "../../src/gen/axon/query_pb.ts";
import { collect, Inbox, queries, RawClient, testSoma } from "./raw_client.ts";
import { Handler, query, subscriptionRequest, text } from "./raw_query_handler.ts";

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
