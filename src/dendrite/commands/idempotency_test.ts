/**
 * The repository and idempotency keys: a retry with the key of a stored command gets the first result and stores
 * nothing, also from another repository (another process) and after the first one's events were snapshotted;
 * retries that arrive while the first try runs share its outcome.
 */
import { create } from "@bufbuild/protobuf";
import { Greeter } from "../../example/greeter/aggregate.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import type { Greeting } from "../../gen/example/v1/greeter_pb.ts";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { DomainError } from "../core/errors.ts";
import { type CommandMessage, envelope } from "../core/message.ts";
import { MessageRegistry } from "../core/registry.ts";
import { IDEMPOTENCY_KEY } from "../eventstore/idempotency.ts";
import { InMemoryEventStore } from "../eventstore/memory.ts";
import { AggregateRepository } from "./repository.ts";

function greet(message: string, key: string, greeterId = "main"): CommandMessage<domain.GreetCommand> {
  const payload = create(domain.GreetCommandSchema, { greeterId, message });
  return { ...envelope(payload, { [IDEMPOTENCY_KEY]: key }), routingKey: greeterId };
}

Deno.test("idempotency: a retried command is answered with its first result and stored once", async () => {
  const eventStore = new InMemoryEventStore();
  const first = new AggregateRepository(Greeter, { eventStore, registry: new MessageRegistry() });
  const other = new AggregateRepository(Greeter, { eventStore, registry: new MessageRegistry() });
  const [a, b] = await Promise.all([first.handle(greet("hi", "k1")), first.handle(greet("hi", "k1"))]);
  assertEquals(a, b);
  // more than a snapshot's worth of greetings after it
  const later = [];
  for (let i = 0; i < 25; i++) later.push(await first.handle(greet(`later ${i}`, `later-${i}`)));
  const retried = await other.handle(greet("hi", "k1")) as Greeting;
  assertEquals(retried, a);
  // answered from a snapshot before it plus its events
  assertEquals(await other.handle(greet("later 14", "later-14")), later[14]);
  assertEquals(await eventStore.highestSequence("main"), 25);
  const state = await other.load("main");
  assertEquals(state.state.greetingCount, 26n);
  // the same key on another aggregate is a clear refusal, not a second decision
  const reused = await assertRejects(() => other.handle(greet("hi", "k1", "other")), DomainError);
  assertEquals(reused.code, "IDEMPOTENCY_KEY_REUSED");
  assertEquals(await eventStore.highestSequence("other"), -1);
});
