/**
 * The DCB (Dynamic Consistency Boundary) event store port: one global sequence of tagged events; a decision
 * sources the events matching its criteria, gets a consistency marker, and appends on the condition that no event
 * matching those criteria was stored at or after the marker. The model of Axon Framework 5 and of Axon Server's
 * `DcbEventStore` API (`dcb.proto`).
 *
 * Matching: an event matches a {@link Criterion} when its name is one of the criterion's names (any name when the
 * list is empty) AND it carries every tag of the criterion (any tags when empty). A list of criteria matches when
 * at least one criterion does; an empty list matches every event.
 *
 * Sequences start at 0. The head is the sequence the next event gets (0 when empty); the tail is the first
 * stored sequence (0: dendrite stores never truncate).
 *
 * @example
 * ```ts
 * import { InMemoryDcbEventStore, tag } from "./mod.ts";
 * const store = new InMemoryDcbEventStore();
 * const criteria = [{ names: ["CourseCreated"], tags: [tag("course", "c1")] }];
 * const { marker } = await store.source(criteria);
 * await store.append([{ event: { name: "CourseCreated", payload: new Uint8Array() }, tags: [tag("course", "c1")] }], {
 *   marker,
 *   criteria,
 * });
 * ```
 *
 * @module
 */
import { ConcurrencyError, DendriteError } from "../core/errors.ts";

/**
 * A tag: a key and a value describing an event in domain terms (e.g. `course` = `c1`).
 *
 * @example
 * ```ts
 * import { InMemoryDcbEventStore, type Tag, tag } from "./mod.ts";
 * const course: Tag = { key: "course", value: "c1" }; // the same as tag("course", "c1")
 * const store = new InMemoryDcbEventStore();
 * await store.append([{ event: { name: "CourseCreated", payload: new Uint8Array() }, tags: [course] }]);
 * console.log(await store.getTags(0)); // [{ key: "course", value: "c1" }]
 * ```
 */
export interface Tag {
  /** The tag's key, e.g. `course`. */
  readonly key: string;
  /** The tag's value, e.g. `c1`. */
  readonly value: string;
}

/**
 * A tag from its key and value.
 *
 * @example
 * ```ts
 * import { tag } from "./dcb_event_store.ts";
 * const criteria = [{ names: ["StudentSubscribed"], tags: [tag("course", "c1")] }];
 * ```
 */
export function tag(key: string, value: string): Tag {
  return { key, value };
}

/**
 * An event as stored in a DCB store.
 *
 * @example
 * ```ts
 * import type { DcbEvent } from "./mod.ts";
 * const event: DcbEvent = {
 *   name: "CourseCreated",
 *   version: "1",
 *   payload: new TextEncoder().encode('{"courseId":"c1","capacity":20}'),
 *   metadata: { correlation_id: "c-1" },
 * }; // id and timestamp are filled in on append when omitted
 * ```
 */
export interface DcbEvent {
  /** Unique id (a random UUID when omitted on append). */
  readonly id?: string;
  /** Epoch milliseconds, given by the client (now when omitted on append). */
  readonly timestamp?: number;
  /** The event's name, matched by criteria. */
  readonly name: string;
  /** The payload's version (revision); "" when omitted. */
  readonly version?: string;
  /** The serialized payload. */
  readonly payload: Uint8Array;
  /** String metadata. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * An event with its tags, as appended.
 *
 * @example
 * ```ts
 * import { tag, type TaggedEvent } from "./dcb_event_store.ts";
 * const event: TaggedEvent = {
 *   event: { name: "StudentSubscribed", payload: new TextEncoder().encode('{"courseId":"c1","studentId":"s1"}') },
 *   tags: [tag("course", "c1"), tag("student", "s1")],
 * };
 * ```
 */
export interface TaggedEvent {
  /** The event. */
  readonly event: DcbEvent;
  /** The tags it is stored with (criteria match them). */
  readonly tags: readonly Tag[];
}

/**
 * A stored event: every field filled in, with its global sequence.
 *
 * @example
 * ```ts
 * import { InMemoryDcbEventStore, type SequencedEvent } from "./mod.ts";
 * const store = new InMemoryDcbEventStore();
 * await store.append([{ event: { name: "CourseCreated", payload: new Uint8Array() }, tags: [] }]);
 * const { events } = await store.source([]);
 * const first: SequencedEvent = events[0];
 * console.log(first.sequence, first.event.name, first.event.id); // 0 CourseCreated <a UUID>
 * ```
 */
export interface SequencedEvent {
  /** The event's global sequence, from 0. */
  readonly sequence: number;
  /** The event as stored. */
  readonly event: Required<DcbEvent>;
}

/**
 * Names AND tags (see the module description).
 *
 * @example
 * ```ts
 * import { type Criterion, tag } from "./dcb_event_store.ts";
 * // CourseCreated or StudentSubscribed events of course c1:
 * const criterion: Criterion = { names: ["CourseCreated", "StudentSubscribed"], tags: [tag("course", "c1")] };
 * ```
 */
export interface Criterion {
  /** Event names, any of which matches (an empty list: any name). */
  readonly names: readonly string[];
  /** Tags, all of which an event must carry (an empty list: any tags). */
  readonly tags: readonly Tag[];
}

/**
 * The condition of an append: no event matching `criteria` stored at or after `marker`.
 *
 * @example
 * ```ts
 * import { type AppendCondition, InMemoryDcbEventStore, tag } from "./mod.ts";
 * const store = new InMemoryDcbEventStore();
 * const criteria = [{ names: ["CourseCreated"], tags: [tag("course", "c1")] }];
 * const { events, marker } = await store.source(criteria);
 * // Append only if no CourseCreated of c1 was stored since the read:
 * const condition: AppendCondition = { marker, criteria };
 * const created = { event: { name: "CourseCreated", payload: new Uint8Array() }, tags: criteria[0].tags };
 * if (events.length === 0) await store.append([created], condition);
 * ```
 */
export interface AppendCondition {
  /** The head the decision read up to (from {@link Sourced.marker}). */
  readonly marker: number;
  /** The criteria no later event may match. */
  readonly criteria: readonly Criterion[];
}

/**
 * What an append stored.
 *
 * @example
 * ```ts
 * import { type DcbAppendResult, InMemoryDcbEventStore } from "./mod.ts";
 * const store = new InMemoryDcbEventStore();
 * const event = { name: "CourseCreated", payload: new Uint8Array() };
 * const result: DcbAppendResult = await store.append([{ event, tags: [] }, { event, tags: [] }]);
 * console.log(result.firstSequence, result.count, result.marker); // 0 2 2
 * ```
 */
export interface DcbAppendResult {
  /** Sequence of the first event appended (the head before the append). */
  readonly firstSequence: number;
  /** How many events were appended. */
  readonly count: number;
  /** A marker for a following append on the same criteria: the head after this append. */
  readonly marker: number;
}

/**
 * The events matching some criteria and the marker to append with.
 *
 * @example
 * ```ts
 * import { InMemoryDcbEventStore, type Sourced, tag } from "./mod.ts";
 * const store = new InMemoryDcbEventStore();
 * const sourced: Sourced = await store.source([{ names: [], tags: [tag("student", "s1")] }]);
 * console.log(sourced.events.length, sourced.marker); // 0 0: nothing yet, append with marker 0
 * ```
 */
export interface Sourced {
  /** The matching events, in sequence order. */
  readonly events: readonly SequencedEvent[];
  /** The head when the events were read: a condition with this marker sees every later matching event. */
  readonly marker: number;
}

/**
 * Options of every call.
 *
 * @example
 * ```ts
 * import { type DcbCallOptions, type DcbEventStore, InMemoryDcbEventStore } from "./mod.ts";
 * const store: DcbEventStore = new InMemoryDcbEventStore();
 * const options: DcbCallOptions = { signal: AbortSignal.timeout(1_000) };
 * console.log(await store.head(options)); // 0
 * ```
 */
export interface DcbCallOptions {
  /** Cancels the call. */
  readonly signal?: AbortSignal;
}

/**
 * Options of `source` and `stream`.
 *
 * @example
 * ```ts
 * import { type DcbReadOptions, InMemoryDcbEventStore, tag } from "./mod.ts";
 * const criteria = [{ names: ["StudentSubscribed"], tags: [tag("course", "c1")] }];
 * // Every matching event from sequence 100 on, then live ones, for one minute:
 * const options: DcbReadOptions = { from: 100, signal: AbortSignal.timeout(60_000) };
 * for await (const { sequence, event } of new InMemoryDcbEventStore().stream(criteria, options)) {
 *   console.log(sequence, event.name);
 * }
 * ```
 */
export interface DcbReadOptions extends DcbCallOptions {
  /** Inclusive first sequence (default 0). */
  readonly from?: number;
}

/**
 * The port.
 *
 * @example
 * ```ts
 * import { InMemoryDcbEventStore } from "./memory.ts";
 * import { type DcbEventStore, tag } from "./dcb_event_store.ts";
 * const store: DcbEventStore = new InMemoryDcbEventStore();
 * const { events, marker } = await store.source([{ names: [], tags: [tag("course", "c1")] }]);
 * ```
 */
export interface DcbEventStore {
  /**
   * Appends `events` as one transaction, with a global sequence each, if `condition` holds (always without one).
   * Throws {@link ConsistencyViolationError} and stores nothing when an event matching the condition's criteria
   * was stored at or after its marker.
   */
  append(
    events: readonly TaggedEvent[],
    condition?: AppendCondition,
    options?: DcbCallOptions,
  ): Promise<DcbAppendResult>;
  /** The events matching `criteria` from `options.from` up to the head, and the head as marker. */
  source(criteria: readonly Criterion[], options?: DcbReadOptions): Promise<Sourced>;
  /** The events matching `criteria` from `options.from`, then every matching event as it is stored, until aborted. */
  stream(criteria: readonly Criterion[], options?: DcbReadOptions): AsyncIterable<SequencedEvent>;
  /** The sequence the next event gets (0 when empty). */
  head(options?: DcbCallOptions): Promise<number>;
  /** The first stored sequence (0 when empty or not truncated). */
  tail(options?: DcbCallOptions): Promise<number>;
  /** The lowest sequence of an event with a timestamp ≥ `timestamp`, else the head. */
  sequenceAt(timestamp: number, options?: DcbCallOptions): Promise<number>;
  /** Adds tags to a stored event (tags it has already are ignored). Sourcing sees the change. */
  addTags(sequence: number, tags: readonly Tag[], options?: DcbCallOptions): Promise<void>;
  /** Removes tags from a stored event (tags it does not have are skipped). */
  removeTags(sequence: number, tags: readonly Tag[], options?: DcbCallOptions): Promise<void>;
  /** The tags of a stored event. */
  getTags(sequence: number, options?: DcbCallOptions): Promise<Tag[]>;
}

/**
 * An append whose condition failed: an event matching the criteria was stored at or after the marker. Code
 * `AXONIQ-2000` (Axon's invalid-sequence code, the one Axon uses for append conflicts). Retry by sourcing again.
 *
 * @example
 * ```ts
 * import { ConsistencyViolationError } from "./dcb_event_store.ts";
 * console.log(new ConsistencyViolationError("Course c1 changed").code); // AXONIQ-2000
 * ```
 */
export class ConsistencyViolationError extends ConcurrencyError {
  /** An event matching the condition's criteria was stored after its marker. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConsistencyViolationError";
  }
}

/**
 * A tag call named a sequence that holds no event.
 *
 * @example
 * ```ts
 * import { UnknownSequenceError } from "./dcb_event_store.ts";
 * const error = new UnknownSequenceError(42);
 * ```
 */
export class UnknownSequenceError extends DendriteError {
  /** `sequence` is not a stored event. */
  constructor(sequence: number) {
    super("AXONIQ-0001", `No event at sequence ${sequence}`);
  }
}

/** Whether `event` with `tags` matches `criteria` (see the module description). */
export function matches(criteria: readonly Criterion[], name: string, tags: readonly Tag[]): boolean {
  if (criteria.length === 0) return true;
  return criteria.some((criterion) =>
    (criterion.names.length === 0 || criterion.names.includes(name)) &&
    criterion.tags.every((wanted) => tags.some((t) => t.key === wanted.key && t.value === wanted.value))
  );
}

/** The event with every optional field filled in. */
export function completeEvent(event: DcbEvent, now = Date.now()): Required<DcbEvent> {
  return {
    id: event.id || crypto.randomUUID(),
    timestamp: event.timestamp ?? now,
    name: event.name,
    version: event.version ?? "",
    payload: event.payload,
    metadata: event.metadata ?? {},
  };
}

/** Throws a clear error for a bad sequence argument. */
export function checkSequence(sequence: number, what = "sequence"): void {
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw new RangeError(`The ${what} must be a non-negative integer, got ${sequence}`);
  }
}

/** Unique tags, in first-seen order. */
export function uniqueTags(tags: readonly Tag[]): Tag[] {
  const seen = new Set<string>();
  return tags.filter((t) => {
    const key = `${t.key}\u0000${t.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
