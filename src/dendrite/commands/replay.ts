/**
 * The answer to a retried command: when the event store reports that the command's idempotency key was used
 * before, the repository answers with the result of the first handling, rebuilt from what it stored (the state
 * after its last event and its events) instead of deciding again.
 *
 * @module
 */
import type { Message } from "@bufbuild/protobuf";
import type { MessageRegistry } from "../core/registry.ts";
import type { EventStore } from "../eventstore/event_store.ts";
import type { IdempotentOutcome } from "../eventstore/idempotency.ts";
import type { AggregateDefinition, DomainEventMessage } from "./aggregate.ts";

/** The result `definition.result` gave for `command` when it stored the events of `outcome`. */
export async function replayResult<S, C extends Message, E extends Message>(
  definition: AggregateDefinition<S, C, E>,
  command: C,
  outcome: IdempotentOutcome,
  store: EventStore,
  registry: MessageRegistry,
  signal?: AbortSignal,
): Promise<Message | undefined> {
  let state = definition.initialState();
  let from = 0;
  if (definition.snapshot && outcome.firstSequence > 0) {
    const before = store.readSnapshots(outcome.aggregateId, {
      maxSequence: outcome.firstSequence - 1,
      maxResults: 1,
      signal,
    });
    for await (const snapshot of before) {
      state = registry.decode(snapshot.payload) as S;
      from = snapshot.aggregate.sequence + 1;
    }
  }
  const events: DomainEventMessage<E>[] = [];
  for await (const record of store.readAggregate(outcome.aggregateId, { fromSequence: from, signal })) {
    if (record.aggregate.sequence > outcome.lastSequence) break;
    const payload = registry.decode(record.payload) as E;
    state = definition.evolve(state, payload);
    if (record.aggregate.sequence < outcome.firstSequence) continue;
    events.push({
      id: record.id,
      payload,
      metadata: record.metadata,
      timestamp: record.timestamp,
      aggregate: record.aggregate,
    });
  }
  return definition.result?.(command, state, events);
}
