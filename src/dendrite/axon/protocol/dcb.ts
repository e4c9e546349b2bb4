/**
 * DCB messages of the Axon API (`dcb.proto`) ↔ dendrite's DCB port types. Tags travel as bytes; dendrite's tags
 * are strings, encoded as UTF-8 (tags that are not valid UTF-8 are refused with a clear error).
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  type ConsistencyCondition,
  ConsistencyConditionSchema,
  type Criterion as WireCriterion,
  CriterionSchema,
  type Event as WireEvent,
  EventSchema,
  type SequencedEvent as WireSequencedEvent,
  SequencedEventSchema,
  type Tag as WireTag,
  type TaggedEvent as WireTaggedEvent,
  TaggedEventSchema,
  TagSchema,
} from "../../../gen/axon/dcb_pb.ts";
import type {
  AppendCondition,
  Criterion,
  DcbEvent,
  SequencedEvent,
  Tag,
  TaggedEvent,
} from "../../dcb/dcb_event_store.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A tag on the wire. */
export function toWireTag(tag: Tag): WireTag {
  return create(TagSchema, { key: encoder.encode(tag.key), value: encoder.encode(tag.value) });
}

/** A tag from the wire; throws a RangeError when its bytes are not UTF-8. */
export function fromWireTag(tag: WireTag): Tag {
  try {
    return { key: decoder.decode(tag.key), value: decoder.decode(tag.value) };
  } catch {
    throw new RangeError("A tag's key and value must be UTF-8 text");
  }
}

/** An event on the wire (missing id and timestamp are left empty for the store to fill in). */
export function toWireDcbEvent(event: DcbEvent): WireEvent {
  return create(EventSchema, {
    identifier: event.id ?? "",
    timestamp: BigInt(event.timestamp ?? 0),
    name: event.name,
    version: event.version ?? "",
    payload: event.payload,
    metadata: { ...event.metadata },
  });
}

/** An event from the wire (an empty id or a zero timestamp is filled in by the store). */
export function fromWireDcbEvent(event: WireEvent | undefined): DcbEvent {
  if (!event) throw new RangeError("A tagged event needs an event");
  return {
    id: event.identifier || undefined,
    timestamp: event.timestamp > 0n ? Number(event.timestamp) : undefined,
    name: event.name,
    version: event.version,
    payload: event.payload,
    metadata: event.metadata,
  };
}

export function toWireTaggedEvent(tagged: TaggedEvent): WireTaggedEvent {
  return create(TaggedEventSchema, { event: toWireDcbEvent(tagged.event), tag: tagged.tags.map(toWireTag) });
}

export function fromWireTaggedEvent(tagged: WireTaggedEvent): TaggedEvent {
  return { event: fromWireDcbEvent(tagged.event), tags: tagged.tag.map(fromWireTag) };
}

export function toWireSequencedEvent(event: SequencedEvent): WireSequencedEvent {
  return create(SequencedEventSchema, {
    sequence: BigInt(event.sequence),
    event: toWireDcbEvent(event.event),
  });
}

export function fromWireSequencedEvent(event: WireSequencedEvent | undefined): SequencedEvent {
  const inner = event?.event;
  if (!event || !inner) throw new RangeError("A sequenced event without an event");
  return {
    sequence: Number(event.sequence),
    event: {
      id: inner.identifier,
      timestamp: Number(inner.timestamp),
      name: inner.name,
      version: inner.version,
      payload: inner.payload,
      metadata: inner.metadata,
    },
  };
}

export function toWireCriteria(criteria: readonly Criterion[]): WireCriterion[] {
  return criteria.map((c) =>
    create(CriterionSchema, { tagsAndNames: { name: [...c.names], tag: c.tags.map(toWireTag) } })
  );
}

/** Criteria from the wire; a criterion without `tags_and_names` constrains nothing. */
export function fromWireCriteria(criteria: readonly WireCriterion[]): Criterion[] {
  return criteria.map((c) => ({
    names: c.tagsAndNames?.name ?? [],
    tags: (c.tagsAndNames?.tag ?? []).map(fromWireTag),
  }));
}

export function toWireCondition(condition: AppendCondition): ConsistencyCondition {
  return create(ConsistencyConditionSchema, {
    consistencyMarker: BigInt(condition.marker),
    criterion: toWireCriteria(condition.criteria),
  });
}

export function fromWireCondition(condition: ConsistencyCondition): AppendCondition {
  return { marker: Number(condition.consistencyMarker), criteria: fromWireCriteria(condition.criterion) };
}
