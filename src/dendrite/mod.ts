/**
 * dendrite: a CQRS and event-sourcing library for Deno on the Axon Server protocol.
 *
 * This root entry point is runtime-free: messages, errors, the ports (`CommandBus`, `QueryBus`, `EventStore`,
 * `TokenStore`, `DocumentStore`, `DeadLetterQueue`), aggregates, projections, the tracking processor and the
 * in-memory adapters. It never loads `node:sqlite`, gRPC or Elasticsearch. The adapters live in their own entry
 * points: `./dendrite/sqlite`, `./dendrite/axon`, `./dendrite/elasticsearch`; DCB in `./dendrite/dcb`, security
 * building blocks in `./dendrite/security`, given/when/then fixtures in `./dendrite/testing`.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { InMemoryEventStore, LocalCommandBus, MessageRegistry, registerAggregate } from "./mod.ts";
 * import { Greeter } from "../example/greeter/aggregate.ts";
 * import { GreetCommandSchema, RecordCommandSchema } from "../gen/example/v1/domain_pb.ts";
 *
 * const commandBus = new LocalCommandBus();
 * await registerAggregate(commandBus, Greeter, {
 *   eventStore: new InMemoryEventStore(),
 *   registry: new MessageRegistry(Greeter.events),
 * });
 * await commandBus.dispatch(create(RecordCommandSchema, { greeterId: "main" }));
 * await commandBus.dispatch(create(GreetCommandSchema, { greeterId: "main", message: "hello" }));
 * ```
 *
 * @module
 */
export {
  AxonErrorCode,
  ClaimError,
  ConcurrencyError,
  DendriteError,
  type DendriteErrorOptions,
  DomainError,
  type DomainErrorKind,
  type ErrorDetails,
  isTransient,
  NoHandlerError,
  RemoteError,
  SerializationError,
  TimeoutError,
  TransientError,
} from "./core/errors.ts";
export {
  type AggregateRef,
  causedBy,
  type CommandMessage,
  type Envelope,
  envelope,
  type EventMessage,
  type Metadata,
  MetadataKeys,
  type MetaValue,
  newMessageId,
  type QueryMessage,
} from "./core/message.ts";
export { MessageRegistry, type SerializedPayload, type Upcaster } from "./core/registry.ts";
export { defineUpcaster, type UpcasterOptions } from "./core/upcaster.ts";
export { ChannelOverflowError } from "./core/channel.ts";
export { type Clock, systemClock } from "./core/clock.ts";

export {
  type AggregateEventRecord,
  type AppendResult,
  type CallOptions,
  type EventRecord,
  type EventStore,
  type PageOptions,
  type ReadAggregateOptions,
  type StreamOptions,
  type TrackedEventRecord,
} from "./eventstore/event_store.ts";
export {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  DuplicateCommandError,
  IDEMPOTENCY_KEY,
  type IdempotentOutcome,
} from "./eventstore/idempotency.ts";
export { InMemoryEventStore } from "./eventstore/memory.ts";

export {
  type CommandBus,
  type CommandHandler,
  type CommandSubscribeOptions,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type DispatchOptions,
  type HandlerContext,
  LocalCommandBus,
  type Registration,
} from "./commands/command_bus.ts";
export {
  type AggregateDefinition,
  type CommandOf,
  type Decision,
  defineAggregate,
  type DomainEventMessage,
  type EventOf,
  type ResultHandlers,
  type SnapshotPolicy,
  type StateOf,
} from "./commands/aggregate.ts";
export {
  AggregateRepository,
  type Loaded,
  registerAggregate,
  type RepositoryOptions,
  type RetryPolicy,
  sendToAggregate,
} from "./commands/repository.ts";
export { UNREADABLE_EVENT, UnreadableEventError } from "./commands/unreadable.ts";

export {
  DEFAULT_QUERY_TIMEOUT_MS,
  LocalQueryBus,
  type QueryBus,
  type QueryHandler,
  queryOne,
  type QueryOptions,
  type QuerySubscribeOptions,
  type SubscriptionQueryOptions,
  type SubscriptionQueryResult,
  type UpdateFilter,
} from "./queries/query_bus.ts";
export {
  DEFAULT_SUBSCRIPTION_LIMITS,
  SubscriptionLimiter,
  SubscriptionLimitError,
  type SubscriptionLimits,
} from "./queries/subscription_limits.ts";

export { type SegmentEntry, type TokenStore, type TrackingToken } from "./processing/token_store.ts";
export { InMemoryTokenStore } from "./processing/memory_token_store.ts";
export { ROOT_SEGMENT, type Segment } from "./processing/segment.ts";
export { defineProjection, type Projection, type ProjectionContext } from "./processing/projection.ts";
export { TrackingProcessor } from "./processing/processor.ts";
export {
  type PoisonPolicy,
  type ProcessorOptions,
  type ProcessorStatus,
  type SegmentStatus,
} from "./processing/processor_options.ts";
export { type OutageBackoff, type Sleep } from "./processing/outage.ts";
export {
  type DeadLetter,
  type DeadLetterListOptions,
  type DeadLetterQueue,
  InMemoryDeadLetterQueue,
  type NewDeadLetter,
} from "./processing/dead_letter.ts";
export {
  type DeadLetterSummary,
  type SequenceOutcome,
  type SequenceSummary,
} from "./processing/sequenced_dead_letters.ts";

export {
  type Collection,
  type CollectionOptions,
  type DocumentStore,
  type Found,
  type JsonObject,
  type JsonValue,
  type ListOptions,
  type SearchTerms,
} from "./documents/document_store.ts";
export { InMemoryDocumentStore } from "./documents/memory.ts";
