import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import type { AppendCondition, DcbEventStore, TaggedEvent } from "./dcb_event_store.ts";
import { DecisionConflictError, defineDecision, handleDecision } from "./decision.ts";
import { InMemoryDcbEventStore } from "./memory.ts";
import { tag } from "./dcb_event_store.ts";

type Claimed = { type: "NameClaimed"; name: string; by: string };
const claimName = defineDecision<{ name: string; by: string }, string | undefined, Claimed>({
  name: "claimName",
  criteria: (command) => [{ names: ["NameClaimed"], tags: [tag("name", command.name)] }],
  initialState: () => undefined,
  evolve: (owner, event) => owner ?? event.by,
  decide: (command, owner) => (owner ? [] : [{ type: "NameClaimed", name: command.name, by: command.by }]),
  tags: (event) => [tag("name", event.name)],
});

/** The store, with another writer claiming the same name right before the first `racing` appends. */
function racingStore(inner: DcbEventStore, racing: number): DcbEventStore {
  let races = 0;
  return {
    source: (criteria, options) => inner.source(criteria, options),
    stream: (criteria, options) => inner.stream(criteria, options),
    head: () => inner.head(),
    tail: () => inner.tail(),
    sequenceAt: (timestamp) => inner.sequenceAt(timestamp),
    addTags: (sequence, tags) => inner.addTags(sequence, tags),
    removeTags: (sequence, tags) => inner.removeTags(sequence, tags),
    getTags: (sequence) => inner.getTags(sequence),
    append: async (events: readonly TaggedEvent[], condition?: AppendCondition) => {
      if (condition && races++ < racing) {
        const by = `rival-${races}`;
        await inner.append([{
          event: claimName.codec.encode({ type: "NameClaimed", name: "ada", by }),
          tags: [tag("name", "ada")],
        }]);
      }
      return inner.append(events, condition);
    },
  };
}

Deno.test("handleDecision appends the decided events with the marker and returns them", async () => {
  const store = new InMemoryDcbEventStore();
  const result = await handleDecision(store, claimName, { name: "ada", by: "me" });
  assertEquals(result.events, [{ type: "NameClaimed", name: "ada", by: "me" }]);
  assertEquals(result.appended?.firstSequence, 0);
  assertEquals(result.attempts, 1);
  const again = await handleDecision(store, claimName, { name: "ada", by: "you" });
  assertEquals(again.events, []);
  assertEquals(again.state, "me");
  assertEquals(await store.head(), 1);
});

Deno.test("handleDecision decides again on the new events after a consistency violation", async () => {
  const inner = new InMemoryDcbEventStore();
  const result = await handleDecision(racingStore(inner, 1), claimName, { name: "ada", by: "me" });
  assertEquals(result.attempts, 2);
  assertEquals(result.events, [], "the rival's claim was seen on the second read");
  assertEquals(result.state, "rival-1");
  assertEquals(await inner.head(), 1);
});

Deno.test("handleDecision gives up after maxAttempts lost races", async () => {
  const inner = new InMemoryDcbEventStore();
  const rename = defineDecision<{ name: string }, number, Claimed>({
    criteria: (command) => [{ names: [], tags: [tag("name", command.name)] }],
    initialState: () => 0,
    evolve: (n) => n + 1,
    decide: (command) => [{ type: "NameClaimed", name: command.name, by: "me" }],
    tags: (event) => [tag("name", event.name)],
  });
  const error = await assertRejects(
    () => handleDecision(racingStore(inner, 100), rename, { name: "ada" }, { maxAttempts: 3 }),
    DecisionConflictError,
  );
  assert(error.message.includes("3"), error.message);
  assertEquals(await inner.head(), 3, "only the rivals' events are stored");
});
