/**
 * Event-sourced aggregates as three pure functions (decide/evolve/initialState), typed by generated protobuf
 * schemas: the command and event unions are inferred from the schema lists, so `switch (command.$typeName)`
 * narrows to each message type.
 *
 * @module
 */
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import type { DomainError } from "../core/errors.ts";
import type { AggregateRef, EventMessage } from "../core/message.ts";

/**
 * What `decide` returns: the events to append (none, one or several), or a refusal.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { type Decision, DomainError } from "../mod.ts";
 * import { type GreetedEvent, GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const decide = (message: string): Decision<GreetedEvent> =>
 *   message === ""
 *     ? new DomainError("EX002", "A greeting must not be empty", { kind: "invalid-argument" })
 *     : create(GreetedEventSchema, { greeterId: "main", message }); // or [] for no change
 * ```
 */
export type Decision<E extends Message> = E | readonly E[] | DomainError;

/**
 * A stored domain event as `result` sees it.
 *
 * @example
 * ```ts
 * import type { DomainEventMessage } from "../mod.ts";
 * import type { GreetedEvent } from "../../gen/example/v1/domain_pb.ts";
 * // What a `results` function sees of the events it appended:
 * const firstId = (events: readonly DomainEventMessage<GreetedEvent>[]): string =>
 *   `${events[0].aggregate.id}#${events[0].aggregate.sequence}`;
 * ```
 */
export interface DomainEventMessage<E extends Message = Message> extends EventMessage<E> {
  /** The aggregate that raised the event. */
  readonly aggregate: AggregateRef;
}

/**
 * Snapshot policy: store the state (a protobuf message) every `every` events.
 *
 * @example
 * ```ts
 * import type { SnapshotPolicy } from "../mod.ts";
 * import { type GreeterState, GreeterStateSchema } from "../../gen/example/v1/domain_pb.ts";
 * // Passed as `snapshot` to defineAggregate: store the state every 10 events.
 * const snapshot: SnapshotPolicy<GreeterState> = { schema: GreeterStateSchema, every: 10 };
 * ```
 */
export interface SnapshotPolicy<S extends Message> {
  /** The schema of the state message stored as the snapshot. */
  readonly schema: DescMessage & { readonly typeName: S["$typeName"] };
  /** A snapshot after every this many events. */
  readonly every: number;
}

/**
 * A complete aggregate definition. Build one with {@link defineAggregate}.
 *
 * @example
 * ```ts
 * import type { AggregateDefinition, CommandOf, EventOf, StateOf } from "./aggregate.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * type G = typeof Greeter;
 * const definition: AggregateDefinition<StateOf<G>, CommandOf<G>, EventOf<G>> = Greeter;
 * console.log(definition.commands.map((schema) => schema.typeName)); // the commands it handles
 * ```
 */
export interface AggregateDefinition<S, C extends Message, E extends Message> {
  /** The aggregate type stored with every event (`aggregate_type`), e.g. `example.v1.Greeter`. */
  readonly type: string;
  /** The command schemas the aggregate handles. */
  readonly commands: readonly DescMessage[];
  /** The event schemas the aggregate raises and replays. */
  readonly events: readonly DescMessage[];
  /** The state before any event. */
  initialState(): S;
  /** Decides what happens: pure, no I/O. Throwing a `DomainError` is the same as returning it. */
  decide(command: C, state: S): Decision<E>;
  /** Applies an event to the state: pure, total (never refuses). */
  evolve(state: S, event: E): S;
  /** The target aggregate id of a command (also its routing key). */
  aggregateId(command: C): string;
  /** The command's result message (default: none); built from {@link ResultHandlers} by {@link defineAggregate}. */
  result?(command: C, state: S, events: readonly DomainEventMessage<E>[]): Message | undefined;
  /** When to store snapshots (only for a protobuf state); none by default. */
  readonly snapshot?: S extends Message ? SnapshotPolicy<S> : never;
}

/**
 * One result function per command, keyed by the command's message name: when an aggregate declares results at
 * all, the type requires an entry for EVERY command in `commands`, so a command added later without its result
 * does not compile (instead of silently answering with another command's result type).
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import type { CommandOf, EventOf, ResultHandlers, StateOf } from "../mod.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * import { GreeterStatusSchema } from "../../gen/example/v1/domain_pb.ts";
 * type G = typeof Greeter;
 * const results: ResultHandlers<StateOf<G>, CommandOf<G>, EventOf<G>> = {
 *   "example.v1.GreetCommand": (_command, state) => create(GreeterStatusSchema, { recording: state.recording }),
 *   "example.v1.RecordCommand": () => undefined,
 *   "example.v1.StopCommand": () => undefined,
 * };
 * ```
 */
export type ResultHandlers<S, C extends Message, E extends Message> = {
  readonly [N in C["$typeName"]]: (
    command: Extract<C, { $typeName: N }>,
    state: S,
    events: readonly DomainEventMessage<E>[],
  ) => Message | undefined;
};

/**
 * The command union of a definition.
 *
 * @example
 * ```ts
 * import type { CommandOf } from "../mod.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * const targetOf = (command: CommandOf<typeof Greeter>): string => command.greeterId;
 * ```
 */
export type CommandOf<D> = D extends AggregateDefinition<unknown, infer C, Message> ? C : never;
/**
 * The event union of a definition.
 *
 * @example
 * ```ts
 * import type { EventOf } from "../mod.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * const label = (event: EventOf<typeof Greeter>): string =>
 *   event.$typeName === "example.v1.GreetedEvent" ? event.message : event.$typeName;
 * ```
 */
export type EventOf<D> = D extends AggregateDefinition<unknown, Message, infer E> ? E : never;
/**
 * The state type of a definition.
 *
 * @example
 * ```ts
 * import type { StateOf } from "../mod.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * const state: StateOf<typeof Greeter> = Greeter.initialState();
 * console.log(state.recording); // true
 * ```
 */
export type StateOf<D> = D extends AggregateDefinition<infer S, Message, Message> ? S : never;

/**
 * Defines an aggregate; the command and event types are inferred from the schema lists.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { defineAggregate } from "./aggregate.ts";
 * import { DomainError } from "../core/errors.ts";
 * import { GreetCommandSchema, GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 *
 * const Counter = defineAggregate({
 *   type: "example.Counter",
 *   commands: [GreetCommandSchema],
 *   events: [GreetedEventSchema],
 *   initialState: () => ({ count: 0 }),
 *   aggregateId: (command) => command.greeterId,
 *   decide: (command, state) =>
 *     state.count >= 3
 *       ? new DomainError("FULL", "Three is enough")
 *       : create(GreetedEventSchema, { greeterId: command.greeterId, message: command.message }),
 *   evolve: (state) => ({ count: state.count + 1 }),
 *   // Optional; when given, one entry per command (a missing one does not compile).
 *   results: { "example.v1.GreetCommand": (_command, state) => undefined },
 * });
 * ```
 */
export function defineAggregate<
  const CS extends readonly DescMessage[],
  const ES extends readonly DescMessage[],
  S,
>(definition: {
  readonly type: string;
  readonly commands: CS;
  readonly events: ES;
  initialState(): S;
  decide(command: MessageShape<CS[number]>, state: S): Decision<MessageShape<ES[number]>>;
  evolve(state: S, event: MessageShape<ES[number]>): S;
  aggregateId(command: MessageShape<CS[number]>): string;
  /** What each command answers (after its events are appended); omit it when no command answers anything. */
  readonly results?: ResultHandlers<S, MessageShape<CS[number]>, MessageShape<ES[number]>>;
  readonly snapshot?: S extends Message ? SnapshotPolicy<S> : never;
}): AggregateDefinition<S, MessageShape<CS[number]>, MessageShape<ES[number]>> {
  if (definition.snapshot && !(definition.snapshot.every >= 1)) {
    throw new RangeError(`Snapshot interval of "${definition.type}" must be at least 1`);
  }
  const { results, ...rest } = definition;
  if (!results) return rest;
  type C = MessageShape<CS[number]>;
  type Handler = (command: C, state: S, events: readonly DomainEventMessage<MessageShape<ES[number]>>[]) =>
    | Message
    | undefined;
  const byName = results as unknown as Readonly<Record<string, Handler>>;
  for (const schema of definition.commands) {
    if (typeof byName[schema.typeName] !== "function") {
      throw new TypeError(`Aggregate "${definition.type}" has no result for command "${schema.typeName}"`);
    }
  }
  return { ...rest, result: (command, state, events) => byName[command.$typeName](command, state, events) };
}
