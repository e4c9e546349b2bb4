/**
 * The Axon Server protocol's message mapping, shared by both sides of the wire (the connector in `../` and soma):
 * metadata, payloads (`SerializedObject`) and events, between dendrite's shapes and the generated Axon messages.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  type MetaDataValue,
  MetaDataValueSchema,
  type SerializedObject,
  SerializedObjectSchema,
} from "../../../gen/axon/common_pb.ts";
import { type Event, EventSchema } from "../../../gen/axon/event_pb.ts";
import { type Metadata, type MetaValue, newMessageId } from "../../core/message.ts";
import type { SerializedPayload } from "../../core/registry.ts";
import type { AggregateEventRecord, EventRecord } from "../../eventstore/event_store.ts";

/** Axon's type name for "no payload". */
export const EMPTY_PAYLOAD_TYPE = "empty";

/** The empty payload, for callers that need a payload where {@link fromSerializedObject} found none. */
export const EMPTY_PAYLOAD: SerializedPayload = Object.freeze({
  type: EMPTY_PAYLOAD_TYPE,
  revision: "",
  data: new Uint8Array(),
});

/** Metadata → Axon `map<string, MetaDataValue>`. Integers become `number_value`, other numbers `double_value`. */
export function toMetaData(metadata: Metadata): { [key: string]: MetaDataValue } {
  const out: { [key: string]: MetaDataValue } = {};
  for (const [key, value] of Object.entries(metadata)) {
    out[key] = create(MetaDataValueSchema, { data: metaValue(value) });
  }
  return out;
}

function metaValue(value: MetaValue): MetaDataValue["data"] {
  if (typeof value === "string") return { case: "textValue", value };
  if (typeof value === "boolean") return { case: "booleanValue", value };
  if (Number.isSafeInteger(value)) return { case: "numberValue", value: BigInt(value) };
  return { case: "doubleValue", value };
}

/** Axon metadata → Metadata. Byte values (serialized objects) are not carried over. */
export function fromMetaData(metaData: { [key: string]: MetaDataValue }): Metadata {
  const out: Record<string, MetaValue> = {};
  for (const [key, { data }] of Object.entries(metaData)) {
    switch (data.case) {
      case "textValue":
      case "booleanValue":
      case "doubleValue":
        out[key] = data.value;
        break;
      case "numberValue": {
        const n = Number(data.value);
        out[key] = Number.isSafeInteger(n) ? n : data.value.toString(); // beyond 2^53: kept exact, as text
        break;
      }
    }
  }
  return out;
}

/** Payload → Axon `SerializedObject`; no payload is the `"empty"` type. */
export function toSerializedObject(payload: SerializedPayload | undefined): SerializedObject {
  if (!payload) return create(SerializedObjectSchema, { type: EMPTY_PAYLOAD_TYPE });
  return create(SerializedObjectSchema, {
    type: payload.type,
    revision: payload.revision,
    data: payload.data,
  });
}

/** Axon `SerializedObject` → payload; undefined for an absent or "empty" payload. */
export function fromSerializedObject(object: SerializedObject | undefined): SerializedPayload | undefined {
  if (!object || object.type === "" || object.type === EMPTY_PAYLOAD_TYPE) return undefined;
  return { type: object.type, revision: object.revision, data: object.data };
}

/** An event record → Axon `Event` (aggregate fields only for domain events). */
export function toAxonEvent(record: EventRecord, snapshot = false): Event {
  return create(EventSchema, {
    messageIdentifier: record.id,
    aggregateIdentifier: record.aggregate?.id ?? "",
    aggregateSequenceNumber: BigInt(record.aggregate?.sequence ?? 0),
    aggregateType: record.aggregate?.type ?? "",
    timestamp: BigInt(record.timestamp),
    payload: toSerializedObject(record.payload),
    metaData: toMetaData(record.metadata),
    snapshot,
  });
}

/** Axon `Event` → event record. An event is a domain event when its aggregate type is set. */
export function fromAxonEvent(event: Event): EventRecord & { snapshot?: boolean } {
  const payload = event.payload ?? create(SerializedObjectSchema);
  const record: EventRecord = {
    id: event.messageIdentifier === "" ? newMessageId() : event.messageIdentifier,
    timestamp: Number(event.timestamp),
    payload: { type: payload.type, revision: payload.revision, data: payload.data },
    metadata: fromMetaData(event.metaData),
  };
  if (event.aggregateType === "") return record;
  return {
    ...record,
    aggregate: {
      type: event.aggregateType,
      id: event.aggregateIdentifier,
      sequence: Number(event.aggregateSequenceNumber),
    },
    ...(event.snapshot ? { snapshot: true } : {}),
  };
}

/** Axon `Event` of an aggregate stream → aggregate event record. */
export function fromAxonAggregateEvent(event: Event): AggregateEventRecord {
  const record = fromAxonEvent(event);
  if (!record.aggregate) {
    return { ...record, aggregate: { type: "", id: event.aggregateIdentifier, sequence: 0 } };
  }
  return record as AggregateEventRecord;
}
