/**
 * dendrite: a CQRS and event-sourcing library for Deno on the Axon Server protocol.
 *
 * Application code depends only on the ports (`CommandBus`, `QueryBus`, `EventStore`, `TokenStore`,
 * `DocumentStore`); adapters: in-memory (tests), SQLite, soma in-process, and the Axon Server connector.
 *
 * @example
 * ```ts ignore
 * import { LocalCommandBus, InMemoryEventStore, MessageRegistry, registerAggregate } from "./mod.ts";
 * const eventStore = new InMemoryEventStore();
 * const commandBus = new LocalCommandBus();
 * await registerAggregate(commandBus, Greeter, { eventStore, registry: new MessageRegistry() });
 * ```
 *
 * @module
 */
export * from "./core/errors.ts";
export * from "./core/message.ts";
export { MessageRegistry, type SerializedPayload, type Upcaster } from "./core/registry.ts";
export { defineUpcaster, type UpcasterOptions } from "./core/upcaster.ts";
export { backoff, combineSignals, delay, KeyedMutex, Notifier } from "./core/async.ts";
export { Channel, ChannelOverflowError } from "./core/channel.ts";

export * from "./eventstore/event_store.ts";
export {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  DuplicateCommandError,
  duplicateOutcome,
  IDEMPOTENCY_KEY,
  type IdempotentOutcome,
} from "./eventstore/idempotency.ts";
export { InMemoryEventStore } from "./eventstore/memory.ts";
export { SqliteEventStore, type SqliteEventStoreOptions } from "./eventstore/sqlite.ts";

export * from "./commands/command_bus.ts";
export * from "./commands/aggregate.ts";
export * from "./commands/repository.ts";
export * from "./commands/unreadable.ts";
export * from "./queries/query_bus.ts";
export * from "./queries/subscription_limits.ts";

export * from "./processing/token_store.ts";
export { InMemoryTokenStore } from "./processing/memory_token_store.ts";
export { SqliteTokenStore, type SqliteTokenStoreOptions } from "./processing/sqlite_token_store.ts";
export * from "./processing/segment.ts";
export * from "./processing/projection.ts";
export * from "./processing/processor.ts";
export * from "./processing/dead_letter.ts";
export {
  type DeadLetterSummary,
  type SequenceOutcome,
  type SequenceSummary,
} from "./processing/sequenced_dead_letters.ts";
export { SqliteDeadLetterQueue, type SqliteDeadLetterQueueOptions } from "./processing/sqlite_dead_letter.ts";
export { readyBatches, readyPages } from "./core/batches.ts";

export * from "./documents/document_store.ts";
export { InMemoryDocumentStore } from "./documents/memory.ts";
export { SqliteDocumentStore, type SqliteDocumentStoreOptions } from "./documents/sqlite.ts";
export { type OpenOptions, Sqlite, type Synchronous } from "./sqlite/database.ts";

export { tracedCommandBus, tracedQueryBus } from "./observability/traced_buses.ts";
export {
  spanContextOf,
  traceContextOf,
  TraceKeys,
  tracing,
  withTraceContext,
} from "./observability/trace.ts";
