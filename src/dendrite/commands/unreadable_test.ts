/**
 * An unreadable event in an aggregate: commands are refused with {@link UnreadableEventError} naming the
 * aggregate, the event's sequence, type and revision, and nothing is stored; an upcaster registered for that type
 * and revision makes the aggregate load again.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Account, account, deposit } from "../../../test/fixtures/account.ts";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { envelope } from "../core/message.ts";
import { MessageRegistry } from "../core/registry.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { AggregateRepository } from "./repository.ts";
import { UNREADABLE_EVENT, UnreadableEventError } from "./unreadable.ts";

const pay = (note: string) => ({ ...envelope(deposit("main", 1n, note)), routingKey: "main" });

Deno.test("unreadable event: a clear refusal naming it, and an upcaster for its revision as the way out", async () => {
  const eventStore = new InMemoryEventStore();
  await new AggregateRepository(Account, { eventStore, registry: new MessageRegistry() }).handle(
    pay("first"),
  );
  await eventStore.append([{
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: { type: "test.v1.DepositedEvent", revision: "legacy", data: new Uint8Array([0x0a, 0x7f]) },
    metadata: {},
    aggregate: { type: Account.type, id: "main", sequence: 1 },
  }]);

  const registry = new MessageRegistry();
  const repository = new AggregateRepository(Account, { eventStore, registry });
  const refusal = await assertRejects(() => repository.handle(pay("second")), UnreadableEventError);
  assertEquals(refusal.code, UNREADABLE_EVENT);
  assertEquals([refusal.aggregateId, refusal.sequence, refusal.payloadType, refusal.revision], [
    "main",
    1,
    "test.v1.DepositedEvent",
    "legacy",
  ]);
  assert(refusal.message.includes('Aggregate "main" (test.v1.Account)'), refusal.message);
  assertEquals(await eventStore.highestSequence("main"), 1);

  registry.addUpcaster({
    type: "test.v1.DepositedEvent",
    fromRevision: "legacy",
    upcast: () => ({
      type: "test.v1.DepositedEvent",
      revision: "",
      data: toBinary(
        account.DepositedEventSchema,
        create(account.DepositedEventSchema, { accountId: "main", amount: 1n }),
      ),
    }),
  });
  await repository.handle(pay("second"));
  assertEquals((await repository.load("main")).state.deposits, 3n);
});
