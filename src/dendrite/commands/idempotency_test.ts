/**
 * The repository and idempotency keys: a retry with the key of a stored command gets the first result and stores
 * nothing, also from another repository (another process) and after the first one's events were snapshotted;
 * retries that arrive while the first try runs share its outcome.
 */
import { Account, type account, deposit } from "../../../test/fixtures/account.ts";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { DomainError } from "../core/errors.ts";
import { type CommandMessage, envelope } from "../core/message.ts";
import { MessageRegistry } from "../core/registry.ts";
import { IDEMPOTENCY_KEY } from "../eventstore/idempotency.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { AggregateRepository } from "./repository.ts";

function pay(note: string, key: string, accountId = "main"): CommandMessage<account.DepositCommand> {
  return { ...envelope(deposit(accountId, 1n, note), { [IDEMPOTENCY_KEY]: key }), routingKey: accountId };
}

Deno.test("idempotency: a retried command is answered with its first result and stored once", async () => {
  const eventStore = new InMemoryEventStore();
  const first = new AggregateRepository(Account, { eventStore, registry: new MessageRegistry() });
  const other = new AggregateRepository(Account, { eventStore, registry: new MessageRegistry() });
  const [a, b] = await Promise.all([first.handle(pay("hi", "k1")), first.handle(pay("hi", "k1"))]);
  assertEquals(a, b);
  // more than a snapshot's worth of deposits after it
  const later = [];
  for (let i = 0; i < 25; i++) later.push(await first.handle(pay(`later ${i}`, `later-${i}`)));
  const retried = await other.handle(pay("hi", "k1")) as account.Receipt;
  assertEquals(retried, a);
  // answered from a snapshot before it plus its events
  assertEquals(await other.handle(pay("later 14", "later-14")), later[14]);
  assertEquals(await eventStore.highestSequence("main"), 25);
  const state = await other.load("main");
  assertEquals(state.state.deposits, 26n);
  // the same key on another aggregate is a clear refusal, not a second decision
  const reused = await assertRejects(() => other.handle(pay("hi", "k1", "other")), DomainError);
  assertEquals(reused.code, "IDEMPOTENCY_KEY_REUSED");
  assertEquals(await eventStore.highestSequence("other"), -1);
});
