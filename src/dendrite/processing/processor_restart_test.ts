import { create } from "@bufbuild/protobuf";
import * as account from "../../gen/test/v1/account_pb.ts";
import { assert, assertEquals } from "../../../test/assert.ts";
import type { EventMessage } from "../core/message.ts";
import { MessageRegistry } from "../core/registry.ts";
import { InMemoryDocumentStore } from "../documents/memory.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import type { EventRecord } from "../eventstore/event_store.ts";
import { InMemoryTokenStore } from "./memory_token_store.ts";
import { InMemoryDeadLetterQueue } from "./dead_letter.ts";
import { TrackingProcessor } from "./processor.ts";
import { defineProjection } from "./projection.ts";

const registry = new MessageRegistry([account.DepositedEventSchema, account.FrozenEventSchema]);

function depositedRecords(id: string, from: number, count: number): EventRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: registry.encode(create(account.DepositedEventSchema, { accountId: id, note: `m${from + i}` })),
    metadata: {},
    aggregate: { type: "test.v1.Account", id, sequence: from + i },
  }));
}

/** A projection that writes one document per event and counts deliveries per event id. */
function countingProjection(documents = new InMemoryDocumentStore()) {
  const deliveries = new Map<string, number>();
  const notes = documents.collection<{ note: string }>("deposits");
  const projection = defineProjection({
    name: "counting",
    events: [account.DepositedEventSchema],
    async handle(event: EventMessage<account.DepositedEvent>) {
      deliveries.set(event.id, (deliveries.get(event.id) ?? 0) + 1);
      await notes.put(event.id, { note: event.payload.note });
    },
  });
  return { projection, deliveries, notes };
}

Deno.test("a processor catches up, follows live events, and resumes from its token after a restart", async () => {
  const eventStore = new InMemoryEventStore();
  const tokenStore = new InMemoryTokenStore();
  const { projection, deliveries, notes } = countingProjection();
  await eventStore.append(depositedRecords("a", 0, 5));
  const first = new TrackingProcessor(projection, {
    eventStore,
    tokenStore,
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
  });
  await first.start();
  await first.caughtUp(4, AbortSignal.timeout(5_000));
  const { lastToken } = await eventStore.append(depositedRecords("a", 5, 3));
  await first.caughtUp(lastToken, AbortSignal.timeout(5_000));
  await first.stop();
  assertEquals((await tokenStore.entries("counting"))[0].token, { index: 7 });

  await eventStore.append(depositedRecords("b", 0, 2));
  const second = new TrackingProcessor(projection, {
    eventStore,
    tokenStore,
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
  });
  await second.start();
  await second.caughtUp(9, AbortSignal.timeout(5_000));
  await second.stop();
  assertEquals(deliveries.size, 10);
  assert([...deliveries.values()].every((n) => n === 1), "every event was handled exactly once");
  assertEquals(await notes.count(), 10);
});

Deno.test("after a crash before the token was stored, redelivered events leave the documents unchanged", async () => {
  const eventStore = new InMemoryEventStore();
  const tokenStore = new InMemoryTokenStore();
  const { projection, deliveries, notes } = countingProjection();
  await eventStore.append(depositedRecords("a", 0, 6));
  const processor = new TrackingProcessor(projection, {
    eventStore,
    tokenStore,
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
  });
  await processor.start();
  await processor.caughtUp(5, AbortSignal.timeout(5_000));
  await processor.stop();
  // The crash: the last stored token is older than what was handled.
  await tokenStore.reset("counting", { index: 2 });
  const restarted = new TrackingProcessor(projection, {
    eventStore,
    tokenStore,
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
  });
  await restarted.start();
  await restarted.caughtUp(5, AbortSignal.timeout(5_000));
  await restarted.stop();
  assertEquals(await notes.count(), 6);
  assertEquals([...deliveries.values()].filter((n) => n === 2).length, 3); // events 3, 4, 5 came again
});

Deno.test("a failing handler is retried with its error visible, and processing goes on after it recovers", async () => {
  const eventStore = new InMemoryEventStore();
  const tokenStore = new InMemoryTokenStore();
  let failures = 2;
  const seen: string[] = [];
  const errors: string[] = [];
  const projection = defineProjection({
    name: "flaky",
    events: [account.DepositedEventSchema],
    handle(event: EventMessage<account.DepositedEvent>) {
      if (event.payload.note === "m1" && failures-- > 0) return Promise.reject(new Error("database away"));
      seen.push(event.payload.note);
      return Promise.resolve();
    },
  });
  const processor = new TrackingProcessor(projection, {
    eventStore,
    tokenStore,
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    onError: (error) => errors.push(String(error)),
  });
  await eventStore.append(depositedRecords("a", 0, 3));
  await processor.start();
  await processor.caughtUp(2, AbortSignal.timeout(5_000));
  await processor.stop();
  assertEquals(seen, ["m0", "m1", "m2"]);
  // Reported at least once (a failing batch is first rolled back and re-run event by event).
  assert(errors.length >= 1 && errors.every((e) => e.includes("database away")), errors.join("; "));
  assertEquals(processor.status().running, false);
});

Deno.test("a second instance cannot take a claimed segment, and takes it once released", async () => {
  const eventStore = new InMemoryEventStore();
  const tokenStore = new InMemoryTokenStore();
  const one = countingProjection();
  const a = new TrackingProcessor(one.projection, {
    eventStore,
    tokenStore,
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
    owner: "a",
  });
  const b = new TrackingProcessor(one.projection, {
    eventStore,
    tokenStore,
    deadLetters: new InMemoryDeadLetterQueue(),
    registry,
    owner: "b",
    claimIntervalMs: 20,
  });
  await a.start();
  await b.start();
  assertEquals(a.status().segments.length, 1);
  assertEquals(b.status().segments.length, 0);
  await eventStore.append(depositedRecords("a", 0, 2));
  await a.caughtUp(1, AbortSignal.timeout(5_000));
  await a.stop();
  await b.caughtUp(1, AbortSignal.timeout(5_000)); // b claims the released segment on its next round and starts at a's token
  await eventStore.append(depositedRecords("a", 2, 1));
  await b.caughtUp(2, AbortSignal.timeout(5_000));
  await b.stop();
  assert([...one.deliveries.values()].every((n) => n === 1), "no event handled twice across the hand-over");
  assertEquals(one.deliveries.size, 3);
});
