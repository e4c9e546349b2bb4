/**
 * soma's EventStore and EventScheduler over gRPC, with a raw grpc-js client.
 */
import { create } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import { assert, assertEquals, assertRejects, eventually } from "../assert.ts";
import {
  type Event,
  EventSchema,
  type EventWithToken,
  type GetEventsRequest,
  GetEventsRequestSchema,
} from "../../src/gen/axon/event_pb.ts";
import { collect, errorCode, events, Inbox, RawClient, scheduler, testSoma } from "./raw_client.ts";

function event(aggregate: string, sequence: number, type = "test.v1.Happened"): Event {
  return create(EventSchema, {
    messageIdentifier: crypto.randomUUID(),
    aggregateIdentifier: aggregate,
    aggregateSequenceNumber: BigInt(sequence),
    aggregateType: aggregate === "" ? "" : "Thing",
    timestamp: BigInt(Date.now()),
    payload: { type, revision: "1", data: new TextEncoder().encode(`${aggregate}#${sequence}`) },
    metaData: {
      n: { data: { case: "numberValue", value: 7n } },
      s: { data: { case: "textValue", value: "x" } },
    },
  });
}

function batch(aggregate: string, from: number, count: number): Event[] {
  return Array.from({ length: count }, (_, i) => event(aggregate, from + i));
}

Deno.test("soma EventStore: appends a batch atomically and reads it back with snapshots first", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    assertEquals(
      (await client.unary(events.readHighestSequenceNr, {
        $typeName: "io.axoniq.axonserver.grpc.event.ReadHighestSequenceNrRequest",
        aggregateId: "a",
        fromSequenceNr: 0n,
      })).toSequenceNr,
      -1n,
    );
    const confirmation = await client.clientStream(events.appendEvent, batch("a", 0, 5));
    assertEquals(confirmation.success, true);
    const read = await collect(client.serverStream(events.listAggregateEvents, {
      $typeName: "io.axoniq.axonserver.grpc.event.GetAggregateEventsRequest",
      aggregateId: "a",
      initialSequence: 0n,
      allowSnapshots: true,
      maxSequence: 0n,
      minToken: 0n,
    }));
    assertEquals(read.map((e) => Number(e.aggregateSequenceNumber)), [0, 1, 2, 3, 4]);
    assertEquals(read[0].metaData.n.data, { case: "numberValue", value: 7n });
    assertEquals(read[0].payload?.revision, "1");

    // snapshot beyond the highest sequence is refused with AXONIQ-2000
    const beyond = await assertRejects(() => client.unary(events.appendSnapshot, event("a", 9)));
    assertEquals(errorCode(beyond), "AXONIQ-2000");
    assertEquals((await client.unary(events.appendSnapshot, event("a", 2))).success, true);
    assertEquals((await client.unary(events.appendSnapshot, event("a", 3))).success, true);
    const withSnapshot = await collect(client.serverStream(events.listAggregateEvents, {
      $typeName: "io.axoniq.axonserver.grpc.event.GetAggregateEventsRequest",
      aggregateId: "a",
      initialSequence: 0n,
      allowSnapshots: true,
      maxSequence: 0n,
      minToken: 0n,
    }));
    assertEquals(withSnapshot.map((e) => [Number(e.aggregateSequenceNumber), e.snapshot]), [[3, true], [
      4,
      false,
    ]]);
    const bounded = await collect(client.serverStream(events.listAggregateEvents, {
      $typeName: "io.axoniq.axonserver.grpc.event.GetAggregateEventsRequest",
      aggregateId: "a",
      initialSequence: 1n,
      allowSnapshots: false,
      maxSequence: 3n,
      minToken: 0n,
    }));
    assertEquals(bounded.map((e) => Number(e.aggregateSequenceNumber)), [1, 2, 3]);
    const snapshots = await collect(client.serverStream(events.listAggregateSnapshots, {
      $typeName: "io.axoniq.axonserver.grpc.event.GetAggregateSnapshotsRequest",
      aggregateId: "a",
      initialSequence: 0n,
      maxSequence: 0n,
      maxResults: 0,
    }));
    assertEquals(snapshots.map((e) => Number(e.aggregateSequenceNumber)), [3, 2]);
    assertEquals(
      (await client.unary(events.readHighestSequenceNr, {
        $typeName: "io.axoniq.axonserver.grpc.event.ReadHighestSequenceNrRequest",
        aggregateId: "a",
        fromSequenceNr: 0n,
      })).toSequenceNr,
      4n,
    );
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma EventStore: a sequence conflict is OUT_OF_RANGE with AXONIQ-2000 and stores nothing", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    await client.clientStream(events.appendEvent, batch("b", 0, 2));
    const error = await assertRejects(() =>
      client.clientStream(events.appendEvent, [...batch("c", 0, 3), event("b", 1)])
    );
    assertEquals((error as unknown as { code: number }).code, Status.OUT_OF_RANGE);
    assertEquals(errorCode(error), "AXONIQ-2000");
    const gap = await assertRejects(() =>
      client.clientStream(events.appendEvent, [event("d", 0), event("d", 2)])
    );
    assertEquals(errorCode(gap), "AXONIQ-2000");
    const first = await assertRejects(() => client.clientStream(events.appendEvent, [event("e", 1)]));
    assertEquals(errorCode(first), "AXONIQ-2000");
    const last = await client.unary(events.getLastToken, {
      $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest",
    });
    assertEquals(last.token, 1n);
    // a cancelled append stores nothing
    await assertRejects(() => client.clientStream(events.appendEvent, batch("f", 0, 3), true));
    assertEquals(
      (await client.unary(events.getLastToken, {
        $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest",
      })).token,
      1n,
    );
    // non-domain events carry no sequence check
    await client.clientStream(events.appendEvent, [event("", 0), event("", 0)]);
    assertEquals(
      (await client.unary(events.getLastToken, {
        $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest",
      })).token,
      3n,
    );
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma EventStore: tokens — first 0, last -1 when empty, token at a time", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    const first = () =>
      client.unary(events.getFirstToken, {
        $typeName: "io.axoniq.axonserver.grpc.event.GetFirstTokenRequest",
      });
    const last = () =>
      client.unary(events.getLastToken, { $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest" });
    const at = (instant: number) =>
      client.unary(events.getTokenAt, {
        $typeName: "io.axoniq.axonserver.grpc.event.GetTokenAtRequest",
        instant: BigInt(instant),
      });
    assertEquals((await first()).token, 0n);
    assertEquals((await last()).token, -1n);
    assertEquals((await at(Date.now())).token, 0n);
    const base = Date.now() + 100_000;
    const timed = [0, 1, 2].map((i) => ({ ...event("t", i), timestamp: BigInt(base + i * 1000) }));
    await client.clientStream(events.appendEvent, timed);
    assertEquals((await last()).token, 2n);
    assertEquals((await at(base + 500)).token, 1n);
    assertEquals((await at(base + 10_000)).token, 3n);
  } finally {
    client.close();
    await dispose();
  }
});

function getEvents(fields: Partial<Omit<GetEventsRequest, "$typeName">>): GetEventsRequest {
  return create(GetEventsRequestSchema, fields);
}

Deno.test("soma EventStore: ListEvents starts at the token (inclusive), honours cumulative permits and tails live", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    await client.clientStream(events.appendEvent, batch("l", 0, 10));
    const call = client.bidi(events.listEvents);
    const inbox = new Inbox<EventWithToken>(call);
    call.write(getEvents({ trackingToken: 4n, numberOfPermits: 3n, clientId: "t", processor: "p" }));
    await inbox.next((m) => m.token === 6n);
    // no more than the permits granted
    await client.unary(events.getLastToken, {
      $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest",
    });
    assertEquals(inbox.messages.length, 3);
    call.write(getEvents({ numberOfPermits: 2n }));
    call.write(getEvents({ numberOfPermits: 10n }));
    await inbox.next((m) => m.token === 9n);
    assertEquals(inbox.messages.map((m) => Number(m.token)), [4, 5, 6, 7, 8, 9]);
    // live tail
    await client.clientStream(events.appendEvent, batch("l", 10, 2));
    await inbox.next((m) => m.token === 11n);
    assertEquals(Number(inbox.messages.at(-1)!.event!.aggregateSequenceNumber), 11);
    call.cancel();
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma EventStore: ListEvents skips blacklisted types but lets one through every N skipped", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    const mixed = Array.from({ length: 2_500 }, (_, i) => event("", 0, i === 2_499 ? "wanted" : "noise"));
    await client.clientStream(events.appendEvent, mixed);
    const call = client.bidi(events.listEvents);
    const inbox = new Inbox<EventWithToken>(call);
    call.write(getEvents({
      trackingToken: 0n,
      numberOfPermits: 100n,
      blacklist: [{
        $typeName: "io.axoniq.axonserver.grpc.event.PayloadDescription",
        type: "noise",
        revision: "1",
      }],
    }));
    await inbox.next((m) => m.event?.payload?.type === "wanted");
    const tokens = inbox.messages.map((m) => Number(m.token));
    assertEquals(tokens, [999, 1999, 2499]);
    call.cancel();
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma EventScheduler: scheduled events are durable across a restart and can be cancelled", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-sched-" });
  let { soma, dispose } = await testSoma({ dataDir: dir });
  let client = new RawClient(soma.port);
  try {
    const due = Date.now() + 1_500;
    const kept = await client.unary(scheduler.scheduleEvent, {
      $typeName: "io.axoniq.axonserver.grpc.event.ScheduleEventRequest",
      instant: BigInt(due),
      event: event("", 0, "scheduled.kept"),
    });
    const cancelled = await client.unary(scheduler.scheduleEvent, {
      $typeName: "io.axoniq.axonserver.grpc.event.ScheduleEventRequest",
      instant: BigInt(due),
      event: event("", 0, "scheduled.cancelled"),
    });
    const rescheduled = await client.unary(scheduler.rescheduleEvent, {
      $typeName: "io.axoniq.axonserver.grpc.event.RescheduleEventRequest",
      token: cancelled.token,
      instant: BigInt(Date.now() + 60_000),
      event: event("", 0, "scheduled.later"),
    });
    assert(rescheduled.token !== cancelled.token);
    const ack = await client.unary(scheduler.cancelScheduledEvent, {
      $typeName: "io.axoniq.axonserver.grpc.event.CancelScheduledEventRequest",
      token: rescheduled.token,
    });
    assertEquals(ack.success, true);
    assert(kept.token.length > 0);
    client.close();
    await soma.close();
    ({ soma } = await testSoma({ dataDir: dir }));
    dispose = async () => {
      await soma.close();
      await Deno.remove(dir, { recursive: true });
    };
    client = new RawClient(soma.port);
    await eventually(async () => (await soma.eventStore.lastToken()) === 0, 10_000, "the scheduled event");
    const stored = [];
    for await (const e of soma.eventStore.stream({ from: 0 })) stored.push(e.payload.type);
    assertEquals(stored, ["scheduled.kept"]);
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma EventStore: an aggregate id or sequence without an aggregate type is INVALID_ARGUMENT, nothing stored", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    const untyped = { ...event("u", 3), aggregateType: "" };
    const error = await assertRejects(() =>
      client.clientStream(events.appendEvent, [event("v", 0), untyped])
    );
    assertEquals((error as unknown as { code: number }).code, Status.INVALID_ARGUMENT);
    assertEquals(errorCode(error), "AXONIQ-0001");
    assert(
      error.message.includes(`aggregate identifier "u" and sequence 3 but no aggregate type`),
      error.message,
    );
    const sequenceOnly = { ...event("", 0), aggregateSequenceNumber: 2n };
    assertEquals(
      errorCode(await assertRejects(() => client.clientStream(events.appendEvent, [sequenceOnly]))),
      "AXONIQ-0001",
    );
    assertEquals(
      (await client.unary(events.getLastToken, {
        $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest",
      })).token,
      -1n,
    );
    // the server keeps serving
    assertEquals((await client.clientStream(events.appendEvent, [event("v", 0)])).success, true);
  } finally {
    client.close();
    await dispose();
  }
});
