/**
 * Conversions at soma's boundary between the wire (Axon protobuf messages) and dendrite's in-process values:
 * metadata maps, events, processing instructions, and {@link Payload}, a payload that is encoded or decoded only
 * when it actually crosses to the other side.
 *
 * @module
 */
import { create, type DescMessage, fromBinary, type Message } from "@bufbuild/protobuf";
import {
  type EventRecord,
  type MessageRegistry,
  type Metadata,
  type MetaValue,
  SerializationError,
  type SerializedPayload,
} from "../dendrite/mod.ts";
import {
  type MetaDataValue,
  MetaDataValueSchema,
  type ProcessingInstruction,
  ProcessingInstructionSchema,
  ProcessingKey,
  type SerializedObject,
  SerializedObjectSchema,
} from "../gen/axon/common_pb.ts";
import { type Event, EventSchema } from "../gen/axon/event_pb.ts";

/**
 * A message payload on its way through soma: a typed in-process message, a serialized (wire) payload, or both.
 * The other form is produced on first use and kept.
 */
export class Payload {
  #message: Message | undefined;
  #serialized: SerializedPayload | undefined;

  private constructor(message: Message | undefined, serialized: SerializedPayload | undefined) {
    this.#message = message;
    this.#serialized = serialized;
  }

  /** A payload held as a typed message. */
  static ofMessage(message: Message): Payload {
    return new Payload(message, undefined);
  }

  /** A payload held as wire bytes. */
  static ofSerialized(serialized: SerializedPayload): Payload {
    return new Payload(undefined, serialized);
  }

  /** The payload's type name. */
  get type(): string {
    return this.#message?.$typeName ?? this.#serialized!.type;
  }

  /** Whether it is an empty payload (Axon's `"empty"` type or no bytes and no type). */
  get empty(): boolean {
    return this.#message === undefined &&
      (this.#serialized!.type === "" || this.#serialized!.type === "empty");
  }

  /** The wire form, encoded with `registry` on first use. */
  serialized(registry: MessageRegistry): SerializedPayload {
    this.#serialized ??= registry.encode(this.#message!);
    return this.#serialized;
  }

  /** The typed form: decoded with `schema` when given (and it matches), else with `registry`. */
  message(registry: MessageRegistry, schema?: DescMessage): Message {
    if (this.#message) return this.#message;
    const serialized = this.#serialized!;
    if (
      schema && schema.typeName === serialized.type &&
      registry.revision(serialized.type) === serialized.revision
    ) {
      try {
        this.#message = fromBinary(schema, serialized.data);
      } catch (cause) {
        throw new SerializationError(`Payload of type "${serialized.type}" does not decode`, { cause });
      }
    } else {
      this.#message = registry.decode(serialized);
    }
    return this.#message;
  }
}

/** A wire `SerializedObject` from a payload. */
export function toSerializedObject(payload: SerializedPayload): SerializedObject {
  return create(SerializedObjectSchema, {
    type: payload.type,
    revision: payload.revision,
    data: payload.data,
  });
}

/** A payload from a wire `SerializedObject` (an absent one is the `"empty"` type). */
export function fromSerializedObject(object: SerializedObject | undefined): SerializedPayload {
  if (!object) return { type: "empty", revision: "", data: new Uint8Array() };
  return { type: object.type, revision: object.revision, data: object.data };
}

/** dendrite metadata → wire metadata (integers as `number_value`, other numbers as `double_value`). */
export function toWireMetadata(metadata: Metadata): Record<string, MetaDataValue> {
  const out: Record<string, MetaDataValue> = {};
  for (const [key, value] of Object.entries(metadata)) out[key] = toMetaDataValue(value);
  return out;
}

function toMetaDataValue(value: MetaValue): MetaDataValue {
  if (typeof value === "string") return create(MetaDataValueSchema, { data: { case: "textValue", value } });
  if (typeof value === "boolean") {
    return create(MetaDataValueSchema, { data: { case: "booleanValue", value } });
  }
  if (Number.isSafeInteger(value)) {
    return create(MetaDataValueSchema, { data: { case: "numberValue", value: BigInt(value) } });
  }
  return create(MetaDataValueSchema, { data: { case: "doubleValue", value } });
}

/**
 * Wire metadata → dendrite metadata. Numbers beyond 2^53 become decimal strings; serialized-object values (which
 * dendrite metadata cannot hold) are dropped.
 */
export function fromWireMetadata(metadata: Readonly<Record<string, MetaDataValue>>): Metadata {
  const out: Record<string, MetaValue> = {};
  for (const [key, { data }] of Object.entries(metadata)) {
    switch (data.case) {
      case "textValue":
      case "booleanValue":
      case "doubleValue":
        out[key] = data.value;
        break;
      case "numberValue": {
        const n = Number(data.value);
        out[key] = Number.isSafeInteger(n) ? n : data.value.toString();
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** A stored event → wire `Event`. */
export function toWireEvent(record: EventRecord, snapshot = false): Event {
  return create(EventSchema, {
    messageIdentifier: record.id,
    aggregateIdentifier: record.aggregate?.id ?? "",
    aggregateSequenceNumber: BigInt(record.aggregate?.sequence ?? 0),
    aggregateType: record.aggregate?.type ?? "",
    timestamp: BigInt(record.timestamp),
    payload: toSerializedObject(record.payload),
    metaData: toWireMetadata(record.metadata),
    snapshot,
  });
}

/**
 * A wire `Event` → an event record. Only events with an aggregate type are domain events (Axon's rule); the others
 * are stored without aggregate reference.
 */
export function fromWireEvent(event: Event): EventRecord {
  const record: EventRecord = {
    id: event.messageIdentifier === "" ? crypto.randomUUID() : event.messageIdentifier,
    timestamp: Number(event.timestamp),
    payload: fromSerializedObject(event.payload),
    metadata: fromWireMetadata(event.metaData),
  };
  if (event.aggregateType === "") return record;
  return {
    ...record,
    aggregate: {
      type: event.aggregateType,
      id: event.aggregateIdentifier,
      sequence: Number(event.aggregateSequenceNumber),
    },
  };
}

/** The value of a processing instruction, if present. */
export function instructionValue(
  instructions: readonly ProcessingInstruction[],
  key: ProcessingKey,
): MetaDataValue["data"] | undefined {
  return instructions.find((i) => i.key === key)?.value?.data;
}

/** A numeric processing instruction (PRIORITY, TIMEOUT, NR_OF_RESULTS), if present. */
export function numericInstruction(
  instructions: readonly ProcessingInstruction[],
  key: ProcessingKey,
): number | undefined {
  const data = instructionValue(instructions, key);
  if (data?.case === "numberValue") return Number(data.value);
  if (data?.case === "doubleValue") return data.value;
  if (data?.case === "textValue" && data.value !== "" && !Number.isNaN(Number(data.value))) {
    return Number(data.value);
  }
  return undefined;
}

/** The ROUTING_KEY instruction as text, if present and non-empty. */
export function routingKeyOf(instructions: readonly ProcessingInstruction[]): string | undefined {
  const data = instructionValue(instructions, ProcessingKey.ROUTING_KEY);
  if (data === undefined || data.case === undefined || data.case === "bytesValue") return undefined;
  const text = String(data.value);
  return text === "" ? undefined : text;
}

/** A processing instruction with a number value. */
export function numberInstruction(key: ProcessingKey, value: number): ProcessingInstruction {
  return create(ProcessingInstructionSchema, {
    key,
    value: { data: { case: "numberValue", value: BigInt(Math.round(value)) } },
  });
}

/** A processing instruction with a text value. */
export function textInstruction(key: ProcessingKey, value: string): ProcessingInstruction {
  return create(ProcessingInstructionSchema, { key, value: { data: { case: "textValue", value } } });
}

/** `instructions` with `replacement` instead of any instruction of the same key. */
export function replaceInstruction(
  instructions: readonly ProcessingInstruction[],
  replacement: ProcessingInstruction,
): ProcessingInstruction[] {
  return [...instructions.filter((i) => i.key !== replacement.key), replacement];
}
