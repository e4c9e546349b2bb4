/**
 * Conversions between dendrite's shapes and the Axon Server protocol messages: metadata, payloads, events,
 * processing instructions and errors (in both directions). Shared by the connector and by soma, so both sides
 * of the wire agree.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  type ErrorMessage,
  ErrorMessageSchema,
  type InstructionAck,
  InstructionAckSchema,
  type MetaDataValue,
  MetaDataValueSchema,
  type ProcessingInstruction,
  ProcessingInstructionSchema,
  ProcessingKey,
  type SerializedObject,
  SerializedObjectSchema,
} from "../../gen/axon/common_pb.ts";
import { type Event, EventSchema } from "../../gen/axon/event_pb.ts";
import {
  AxonErrorCode,
  ConcurrencyError,
  DendriteError,
  DomainError,
  type DomainErrorKind,
  NoHandlerError,
  RemoteError,
  TimeoutError,
} from "../core/errors.ts";
import { type Metadata, type MetaValue, newMessageId } from "../core/message.ts";
import type { SerializedPayload } from "../core/registry.ts";
import type { AggregateEventRecord, EventRecord } from "../eventstore/event_store.ts";

/** Axon's type name for "no payload". */
export const EMPTY_PAYLOAD_TYPE = "empty";

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

/** A text processing instruction. */
export function textInstruction(key: ProcessingKey, value: string): ProcessingInstruction {
  return create(ProcessingInstructionSchema, {
    key,
    value: create(MetaDataValueSchema, { data: { case: "textValue", value } }),
  });
}

/** A number processing instruction. */
export function numberInstruction(key: ProcessingKey, value: number): ProcessingInstruction {
  return create(ProcessingInstructionSchema, {
    key,
    value: create(MetaDataValueSchema, { data: { case: "numberValue", value: BigInt(Math.round(value)) } }),
  });
}

/** A boolean processing instruction. */
export function booleanInstruction(key: ProcessingKey, value: boolean): ProcessingInstruction {
  return create(ProcessingInstructionSchema, {
    key,
    value: create(MetaDataValueSchema, { data: { case: "booleanValue", value } }),
  });
}

/** Finds an instruction's value. */
export function instructionValue(
  instructions: readonly ProcessingInstruction[],
  key: ProcessingKey,
): MetaDataValue["data"] | undefined {
  return instructions.find((i) => i.key === key)?.value?.data;
}

/** The routing key instruction as text, if present and non-empty (Java clients may send any scalar). */
export function routingKeyOf(instructions: readonly ProcessingInstruction[]): string | undefined {
  const data = instructionValue(instructions, ProcessingKey.ROUTING_KEY);
  if (data === undefined || data.case === undefined || data.case === "bytesValue") return undefined;
  const text = String(data.value);
  return text === "" ? undefined : text;
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

/** The timeout instruction in ms, if present. */
export function timeoutOf(instructions: readonly ProcessingInstruction[]): number | undefined {
  return numericInstruction(instructions, ProcessingKey.TIMEOUT);
}

/** `instructions` with `replacement` instead of any instruction of the same key. */
export function replaceInstruction(
  instructions: readonly ProcessingInstruction[],
  replacement: ProcessingInstruction,
): ProcessingInstruction[] {
  return [...instructions.filter((i) => i.key !== replacement.key), replacement];
}

const KINDS: readonly DomainErrorKind[] = [
  "failed-precondition",
  "invalid-argument",
  "not-found",
  "already-exists",
  "permission-denied",
  "unauthenticated",
];

/**
 * An error raised by a handler → the (error code, ErrorMessage) pair of a command or query response.
 * Domain refusals travel as a non-transient execution error whose `ErrorMessage.error_code` carries the
 * application's code and whose first detail is the refusal kind, so a dendrite dispatcher rebuilds the same
 * `DomainError`; Java Axon apps see an ordinary non-transient failure.
 */
export function toErrorMessage(
  error: unknown,
  location: string,
  kind: "command" | "query",
): { code: string; message: ErrorMessage; details?: SerializedObject } {
  const details = error instanceof DendriteError && error.errorDetails
    ? toSerializedObject(error.errorDetails)
    : undefined;
  return { ...errorMessageOf(error, location, kind), ...(details ? { details } : {}) };
}

function errorMessageOf(
  error: unknown,
  location: string,
  kind: "command" | "query",
): { code: string; message: ErrorMessage } {
  if (error instanceof DomainError) {
    return {
      code: kind === "command"
        ? AxonErrorCode.COMMAND_EXECUTION_NON_TRANSIENT_ERROR
        : AxonErrorCode.QUERY_EXECUTION_NON_TRANSIENT_ERROR,
      message: create(ErrorMessageSchema, {
        message: error.message,
        location,
        details: [error.kind],
        errorCode: error.code,
      }),
    };
  }
  if (error instanceof DendriteError) {
    return {
      code: error.code,
      message: create(ErrorMessageSchema, { message: error.message, location, errorCode: error.code }),
    };
  }
  const code = kind === "command"
    ? AxonErrorCode.COMMAND_EXECUTION_ERROR
    : AxonErrorCode.QUERY_EXECUTION_ERROR;
  return {
    code,
    message: create(ErrorMessageSchema, {
      message: error instanceof Error ? error.message : String(error),
      location,
      errorCode: code,
    }),
  };
}

/** A response's (error code, ErrorMessage) → the typed error a dispatcher throws. */
export function fromErrorMessage(
  code: string,
  message: ErrorMessage | undefined,
  name: string,
  details?: SerializedObject,
): DendriteError {
  const text = message?.message || `Remote failure ${code}`;
  const inner = message?.errorCode ?? "";
  const errorDetails = fromSerializedObject(details);
  if (inner !== "" && !inner.startsWith("AXONIQ-")) {
    const kind = KINDS.find((k) => k === message?.details[0]) ?? "failed-precondition";
    return new DomainError(inner, text, { kind, errorDetails });
  }

  switch (code) {
    case AxonErrorCode.NO_HANDLER_FOR_COMMAND:
      return new NoHandlerError("command", name);
    case AxonErrorCode.NO_HANDLER_FOR_QUERY:
      return new NoHandlerError("query", name);
    case AxonErrorCode.INVALID_SEQUENCE:
    case AxonErrorCode.CONCURRENCY_EXCEPTION:
      return new ConcurrencyError(text);
    case AxonErrorCode.QUERY_TIMEOUT:
      return new TimeoutError(text, code);
    default:
      return new RemoteError(code, text, message?.details ?? [], message?.location ?? "", { errorDetails });
  }
}

/**
 * The acknowledgement of an instruction: success, or (for an instruction the receiver does not support)
 * `AXONIQ-1002` — which a well-behaved peer treats as "not supported here", not as a failure.
 */
export function instructionAck(
  instructionId: string,
  success: boolean,
  location: string,
  error: { code?: string; message?: string } = {},
): InstructionAck {
  return create(InstructionAckSchema, {
    instructionId,
    success,
    error: success ? undefined : create(ErrorMessageSchema, {
      errorCode: error.code ?? AxonErrorCode.UNSUPPORTED_INSTRUCTION,
      message: error.message ?? "Unsupported instruction",
      location,
    }),
  });
}
