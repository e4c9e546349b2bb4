/**
 * Projections: event handlers that build a query model. A projection names the event types it handles, so a
 * processor only decodes those (and could tell a server to skip the rest).
 *
 * Handlers run at least once per event (after a crash, events since the last stored token run again), so they
 * must be idempotent: derive document ids from the event (its id, or its aggregate id) and upsert.
 *
 * @module
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { EventMessage } from "../core/message.ts";

/**
 * What a projection handler is given besides the event.
 *
 * @example
 * ```ts
 * import { defineProjection, type ProjectionContext } from "../mod.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const mailer = defineProjection({
 *   name: "greeting-mailer",
 *   events: [GreetedEventSchema],
 *   handle: async (event, context: ProjectionContext) => {
 *     if (context.replaying) return; // no mails again on a replay
 *     context.signal.throwIfAborted();
 *     console.log("mail:", event.payload.message);
 *   },
 * });
 * ```
 */
export interface ProjectionContext {
  /** Aborts when the processor stops or loses the segment. */
  readonly signal: AbortSignal;
  /** True while the processor re-processes events it had processed before (a replay). */
  readonly replaying: boolean;
}

/**
 * A projection, as the processor runs it.
 *
 * @example
 * ```ts
 * import { defineProjection } from "./projection.ts";
 * import type { Projection } from "./projection.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const projection: Projection = defineProjection({
 *   name: "greeting-counter",
 *   events: [GreetedEventSchema],
 *   handle: async () => {},
 * });
 * ```
 */
export interface Projection<E extends EventMessage = EventMessage> {
  /** The processor name (also the token store key). */
  readonly name: string;
  /** The event schemas the projection handles (others are skipped). */
  readonly events: readonly DescMessage[];
  /** Handles one event (idempotently, unless the token commits with the model). */
  handle(event: E, context: ProjectionContext): Promise<void>;
  /** Clears the query model before a replay from zero (optional). */
  reset?(): Promise<void>;
  /**
   * Runs a batch of handler calls as one unit (optional; e.g. a document store's `unitOfWork`, one transaction
   * per batch). When a handler fails inside it, the processor abandons the unit and handles the batch's events
   * one at a time, so only the failing event is retried or dead-lettered.
   */
  unitOfWork?<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Defines a projection; the event union is inferred from the schema list.
 *
 * @example
 * ```ts
 * import { defineProjection } from "./projection.ts";
 * import { GreetedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const log: string[] = [];
 * const greetingsLog = defineProjection({
 *   name: "greetings-log",
 *   events: [GreetedEventSchema],
 *   handle: async (event) => {
 *     log.push(event.payload.message);
 *   },
 * });
 * ```
 */
export function defineProjection<const ES extends readonly DescMessage[]>(projection: {
  readonly name: string;
  readonly events: ES;
  handle(event: EventMessage<MessageShape<ES[number]>>, context: ProjectionContext): Promise<void>;
  reset?(): Promise<void>;
  unitOfWork?<T>(work: () => Promise<T>): Promise<T>;
}): Projection {
  return projection as unknown as Projection;
}
