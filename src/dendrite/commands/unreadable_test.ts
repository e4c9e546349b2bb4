/**
 * An unreadable event in an aggregate: commands are refused with {@link UnreadableEventError} naming the
 * aggregate, the event's sequence, type and revision, and nothing is stored; an upcaster registered for that type
 * and revision makes the aggregate load again.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Greeter } from "../../example/greeter/aggregate.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { envelope } from "../core/message.ts";
import { MessageRegistry } from "../core/registry.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { AggregateRepository } from "./repository.ts";
import { UNREADABLE_EVENT, UnreadableEventError } from "./unreadable.ts";

const greet = (message: string) => ({
  ...envelope(create(domain.GreetCommandSchema, { greeterId: "main", message })),
  routingKey: "main",
});

Deno.test("unreadable event: a clear refusal naming it, and an upcaster for its revision as the way out", async () => {
  const eventStore = new InMemoryEventStore();
  await new AggregateRepository(Greeter, { eventStore, registry: new MessageRegistry() }).handle(
    greet("first"),
  );
  await eventStore.append([{
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: { type: "example.v1.GreetedEvent", revision: "legacy", data: new Uint8Array([0x0a, 0x7f]) },
    metadata: {},
    aggregate: { type: Greeter.type, id: "main", sequence: 1 },
  }]);

  const registry = new MessageRegistry();
  const repository = new AggregateRepository(Greeter, { eventStore, registry });
  const refusal = await assertRejects(() => repository.handle(greet("second")), UnreadableEventError);
  assertEquals(refusal.code, UNREADABLE_EVENT);
  assertEquals([refusal.aggregateId, refusal.sequence, refusal.payloadType, refusal.revision], [
    "main",
    1,
    "example.v1.GreetedEvent",
    "legacy",
  ]);
  assert(refusal.message.includes('Aggregate "main" (example.v1.Greeter)'), refusal.message);
  assertEquals(await eventStore.highestSequence("main"), 1);

  registry.addUpcaster({
    type: "example.v1.GreetedEvent",
    fromRevision: "legacy",
    upcast: () => ({
      type: "example.v1.GreetedEvent",
      revision: "",
      data: toBinary(domain.GreetedEventSchema, create(domain.GreetedEventSchema, { greeterId: "main" })),
    }),
  });
  await repository.handle(greet("second"));
  assertEquals((await repository.load("main")).state.greetingCount, 3n);
});
