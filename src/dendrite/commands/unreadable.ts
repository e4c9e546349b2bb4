/**
 * An aggregate whose stored history cannot be read: one of its events (or its snapshot) does not decode or upcast
 * with this process's registry. Every command on it is refused with this error until the operator either
 * registers an upcaster for that payload type and revision or stores a snapshot at or after that sequence with
 * the aggregate's correct state (docs/api.md, "Unreadable events").
 *
 * @module
 */
import { DomainError } from "../core/errors.ts";
import type { AggregateEventRecord } from "../eventstore/event_store.ts";

/**
 * The error code of {@link UnreadableEventError}.
 *
 * @example
 * ```ts
 * import { UNREADABLE_EVENT } from "./unreadable.ts";
 * import { DendriteError } from "../core/errors.ts";
 * const unreadable = (error: unknown) => error instanceof DendriteError && error.code === UNREADABLE_EVENT;
 * ```
 */
export const UNREADABLE_EVENT = "DENDRITE-EVENT-UNREADABLE";

/**
 * A stored event or snapshot of an aggregate that cannot be decoded; the command is not decided.
 *
 * @example
 * ```ts
 * import { UnreadableEventError } from "./unreadable.ts";
 * const record = {
 *   id: "e1",
 *   timestamp: 0,
 *   payload: { type: "example.v1.Gone", revision: "", data: new Uint8Array() },
 *   metadata: {},
 *   aggregate: { type: "Greeter", id: "main", sequence: 0 },
 * };
 * const error = new UnreadableEventError("Greeter", record, new Error("unknown type"));
 * ```
 */
export class UnreadableEventError extends DomainError {
  /** The aggregate type of the unreadable event. */
  readonly aggregateType: string;
  /** The aggregate id of the unreadable event. */
  readonly aggregateId: string;
  /** The event's sequence number in its aggregate. */
  readonly sequence: number;
  /** The stored payload type. */
  readonly payloadType: string;
  /** The stored payload revision. */
  readonly revision: string;

  /** The event `record` of an aggregate of `aggregateType` could not be decoded (`cause`). */
  constructor(aggregateType: string, record: AggregateEventRecord, cause: unknown) {
    const what = record.snapshot ? "snapshot" : "event";
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      UNREADABLE_EVENT,
      `Aggregate "${record.aggregate.id}" (${aggregateType}) cannot be loaded: its ${what} at sequence ` +
        `${record.aggregate.sequence} of type "${record.payload.type}" revision "${record.payload.revision}" ` +
        `cannot be read (${reason}). An upcaster for that type and revision, or a snapshot at or after ` +
        "that sequence, lets it load again.",
      { cause, kind: "failed-precondition" },
    );
    this.aggregateType = aggregateType;
    this.aggregateId = record.aggregate.id;
    this.sequence = record.aggregate.sequence;
    this.payloadType = record.payload.type;
    this.revision = record.payload.revision;
  }
}
