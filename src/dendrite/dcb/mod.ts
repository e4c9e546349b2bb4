/**
 * DCB (Dynamic Consistency Boundary) in dendrite, runtime-free: the {@link DcbEventStore} port, its in-memory
 * store, and the decision model (`defineDecision`, `handleDecision`). Given/when/then for decisions is
 * `decisionSpec` in `./dendrite/testing`; the SQLite store is `SqliteDcbEventStore` in `./dendrite/sqlite`, the
 * Axon Server (and soma) adapter `AxonDcbEventStore` in `./dendrite/axon`.
 *
 * @example
 * ```ts
 * import { InMemoryDcbEventStore } from "./mod.ts";
 * const store = new InMemoryDcbEventStore();
 * console.log(await store.head()); // 0
 * ```
 *
 * @module
 */
export {
  type AppendCondition,
  ConsistencyViolationError,
  type Criterion,
  type DcbAppendResult,
  type DcbCallOptions,
  type DcbEvent,
  type DcbEventStore,
  type DcbReadOptions,
  type SequencedEvent,
  type Sourced,
  type Tag,
  tag,
  type TaggedEvent,
  UnknownSequenceError,
} from "./dcb_event_store.ts";
export { InMemoryDcbEventStore } from "./memory.ts";
export {
  type Decision,
  type DecisionCodec,
  DecisionConflictError,
  type DecisionEvent,
  type DecisionOptions,
  type DecisionResult,
  defineDecision,
  handleDecision,
  type HandleDecisionOptions,
  jsonCodec,
} from "./decision.ts";
