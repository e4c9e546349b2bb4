/**
 * The DCB decision model: a decision names the events it depends on (`criteria` of the command), folds them into
 * a state (`initialState`, `evolve`), and `decide`s the new events. {@link handleDecision} sources the matching
 * events, decides, and appends on the condition that nothing matching was stored since it read — retrying from
 * the read when another writer got there first. The consistency boundary is whatever the criteria cover, e.g. a
 * course and a student at once.
 *
 * Events are plain objects with a `type`; by default they are stored as JSON under their `type` as name.
 *
 * @example
 * ```ts
 * import { defineDecision, handleDecision, InMemoryDcbEventStore, tag } from "./mod.ts";
 * type Event = { type: "NameClaimed"; name: string };
 * const claimName = defineDecision<{ name: string }, boolean, Event>({
 *   criteria: (command) => [{ names: ["NameClaimed"], tags: [tag("name", command.name)] }],
 *   initialState: () => false,
 *   evolve: () => true,
 *   decide: (command, taken) => (taken ? [] : [{ type: "NameClaimed", name: command.name }]),
 *   tags: (event) => [tag("name", event.name)],
 * });
 * const store = new InMemoryDcbEventStore();
 * await handleDecision(store, claimName, { name: "ada" });
 * ```
 *
 * @module
 */
import { ConcurrencyError, DendriteError } from "../core/errors.ts";
import type {
  Criterion,
  DcbAppendResult,
  DcbEvent,
  DcbEventStore,
  SequencedEvent,
  Tag,
} from "./dcb_event_store.ts";

/**
 * An event of a decision: a plain object with a `type`.
 *
 * @example
 * ```ts
 * import type { DecisionEvent } from "./mod.ts";
 * interface CourseCreated extends DecisionEvent {
 *   readonly type: "CourseCreated";
 *   readonly courseId: string;
 *   readonly capacity: number;
 * }
 * const created: CourseCreated = { type: "CourseCreated", courseId: "c1", capacity: 20 };
 * ```
 */
export interface DecisionEvent {
  /** The event's type name (its stored name with the default codec). */
  readonly type: string;
}

/**
 * How a decision's events are stored.
 *
 * @example
 * ```ts
 * import { type DecisionCodec, jsonCodec } from "./mod.ts";
 * type Event = { type: "NameClaimed"; name: string };
 * // JSON at version "2": what `codec` in defineDecision takes.
 * const json = jsonCodec<Event>();
 * const codec: DecisionCodec<Event> = {
 *   encode: (event) => ({ ...json.encode(event), version: "2" }),
 *   decode: (stored) => json.decode(stored),
 * };
 * ```
 */
export interface DecisionCodec<E extends DecisionEvent> {
  /** The stored form of a decision event. */
  encode(event: E): Pick<DcbEvent, "name" | "version" | "payload">;
  /** The decision event a stored event holds. */
  decode(event: SequencedEvent): E;
}

/**
 * What {@link defineDecision} takes.
 *
 * @example
 * ```ts
 * import { defineDecision, type DecisionOptions, tag } from "./mod.ts";
 * type Event = { type: "NameClaimed"; name: string };
 * const options: DecisionOptions<{ name: string }, boolean, Event> = {
 *   name: "claim-name",
 *   criteria: (command) => [{ names: ["NameClaimed"], tags: [tag("name", command.name)] }],
 *   initialState: () => false,
 *   evolve: () => true,
 *   decide: (command, taken) => (taken ? [] : [{ type: "NameClaimed", name: command.name }]),
 *   tags: (event) => [tag("name", event.name)],
 * };
 * const claimName = defineDecision(options);
 * ```
 */
export interface DecisionOptions<C, S, E extends DecisionEvent> {
  /** Name used in errors (default "decision"). */
  readonly name?: string;
  /** The events this command's decision depends on: its consistency boundary. */
  criteria(command: C): readonly Criterion[];
  /** The state before any event (may depend on the command, e.g. the ids it is about). */
  initialState(command: C): S;
  /** The state after one more sourced event (ignore types you do not care about). */
  evolve(state: S, event: E): S;
  /** The new events; throw a `DomainError` to refuse. */
  decide(command: C, state: S): readonly E[];
  /** The tags an event is stored with. */
  tags(event: E): readonly Tag[];
  /** Storage of events (default: JSON, named by `type`). */
  readonly codec?: DecisionCodec<E>;
}

/**
 * A defined decision.
 *
 * @example
 * ```ts
 * import type { Decision } from "./mod.ts";
 * import { createCourse, type EnrolmentEvent } from "../../example/enrolment/decisions.ts";
 * // A defined decision is a value: its name and codec are filled in.
 * const decision: Decision<{ courseId: string; capacity: number }, boolean, EnrolmentEvent> = createCourse;
 * console.log(decision.name, decision.criteria({ courseId: "c1", capacity: 2 }));
 * ```
 */
export interface Decision<C, S, E extends DecisionEvent> extends DecisionOptions<C, S, E> {
  /** The decision's name, used in errors. */
  readonly name: string;
  /** How its events are stored. */
  readonly codec: DecisionCodec<E>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The default codec: JSON, the event's `type` as its name.
 *
 * @example
 * ```ts
 * import { jsonCodec } from "./decision.ts";
 * const codec = jsonCodec<{ type: "CourseCreated"; courseId: string }>();
 * const stored = codec.encode({ type: "CourseCreated", courseId: "c1" });
 * console.log(stored.name); // CourseCreated
 * ```
 */
export function jsonCodec<E extends DecisionEvent>(): DecisionCodec<E> {
  return {
    encode: (event) => ({ name: event.type, version: "", payload: encoder.encode(JSON.stringify(event)) }),
    decode: (event) => ({ ...JSON.parse(decoder.decode(event.event.payload)), type: event.event.name }) as E,
  };
}

/**
 * Defines a decision (see the module description).
 *
 * @example
 * ```ts
 * import { defineDecision } from "./decision.ts";
 * import { tag } from "./dcb_event_store.ts";
 * type Event = { type: "CourseCreated"; courseId: string };
 * const createCourse = defineDecision<{ courseId: string }, boolean, Event>({
 *   name: "create-course",
 *   criteria: (command) => [{ names: ["CourseCreated"], tags: [tag("course", command.courseId)] }],
 *   initialState: () => false,
 *   evolve: () => true,
 *   decide: (command, exists) => exists ? [] : [{ type: "CourseCreated", courseId: command.courseId }],
 *   tags: (event) => [tag("course", event.courseId)],
 * });
 * ```
 */
export function defineDecision<C, S, E extends DecisionEvent>(
  options: DecisionOptions<C, S, E>,
): Decision<C, S, E> {
  return Object.freeze({
    ...options,
    name: options.name ?? "decision",
    codec: options.codec ?? jsonCodec<E>(),
  });
}

/**
 * Options of {@link handleDecision}.
 *
 * @example
 * ```ts
 * import { handleDecision, type HandleDecisionOptions, InMemoryDcbEventStore } from "./mod.ts";
 * import { createCourse } from "../../example/enrolment/decisions.ts";
 * const options: HandleDecisionOptions = { maxAttempts: 3, signal: AbortSignal.timeout(5_000) };
 * await handleDecision(new InMemoryDcbEventStore(), createCourse, { courseId: "c1", capacity: 2 }, options);
 * ```
 */
export interface HandleDecisionOptions {
  /** Attempts before giving up on repeated consistency violations (default 10). */
  readonly maxAttempts?: number;
  /** Cancels the decision between attempts. */
  readonly signal?: AbortSignal;
}

/**
 * What a handled decision did.
 *
 * @example
 * ```ts
 * import { handleDecision, InMemoryDcbEventStore } from "./mod.ts";
 * import type { DecisionResult } from "./mod.ts";
 * import { createCourse, type EnrolmentEvent } from "../../example/enrolment/decisions.ts";
 * const store = new InMemoryDcbEventStore();
 * const result: DecisionResult<boolean, EnrolmentEvent> = await handleDecision(store, createCourse, {
 *   courseId: "c1",
 *   capacity: 2,
 * });
 * console.log(result.events.length, result.appended?.firstSequence, result.attempts); // 1 0 1
 * ```
 */
export interface DecisionResult<S, E> {
  /** The events appended (none when the decision decided nothing). */
  readonly events: readonly E[];
  /** The state the decision was taken on. */
  readonly state: S;
  /** The append, when there were events. */
  readonly appended?: DcbAppendResult;
  /** How many attempts it took (1 without a conflict). */
  readonly attempts: number;
}

/**
 * Every attempt of a decision lost the race to other writers.
 *
 * @example
 * ```ts
 * import { DecisionConflictError } from "./decision.ts";
 * const error = new DecisionConflictError("subscribe-student", 10);
 * ```
 */
export class DecisionConflictError extends DendriteError {
  /** The decision `name` lost `attempts` races in a row. */
  constructor(name: string, attempts: number, options?: ErrorOptions) {
    super("AXONIQ-2000", `The ${name} lost ${attempts} consistency races in a row`, options);
  }
}

/**
 * Sources, decides and appends with the consistency marker; on a violation, does it again from the read.
 *
 * @example
 * ```ts
 * import { handleDecision } from "./decision.ts";
 * import { InMemoryDcbEventStore } from "./memory.ts";
 * import { createCourse } from "../../example/enrolment/decisions.ts";
 * const store = new InMemoryDcbEventStore();
 * const { events } = await handleDecision(store, createCourse, { courseId: "c1", capacity: 2 });
 * ```
 */
export async function handleDecision<C, S, E extends DecisionEvent>(
  store: DcbEventStore,
  decision: Decision<C, S, E>,
  command: C,
  options: HandleDecisionOptions = {},
): Promise<DecisionResult<S, E>> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 10);
  const criteria = decision.criteria(command);
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    options.signal?.throwIfAborted();
    const { events, marker } = await store.source(criteria, { signal: options.signal });
    const state = events.reduce(
      (s, event) => decision.evolve(s, decision.codec.decode(event)),
      decision.initialState(command),
    );
    const decided = decision.decide(command, state);
    if (decided.length === 0) return { events: [], state, attempts: attempt };
    const tagged = decided.map((event) => ({
      event: decision.codec.encode(event),
      tags: decision.tags(event),
    }));
    try {
      const appended = await store.append(tagged, { marker, criteria }, { signal: options.signal });
      return { events: decided, state, appended, attempts: attempt };
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      lastConflict = error;
    }
  }
  throw new DecisionConflictError(decision.name, maxAttempts, { cause: lastConflict });
}
