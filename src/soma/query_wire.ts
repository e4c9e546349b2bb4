/**
 * soma's mapping between the wire messages of the QueryService and its router's queries and results.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { AxonErrorCode, type MessageRegistry } from "../dendrite/mod.ts";
import { ErrorMessageSchema, ProcessingKey } from "../gen/axon/common_pb.ts";
import {
  type QueryRequest,
  QueryRequestSchema,
  type QueryResponse,
  QueryResponseSchema,
  type QueryUpdate,
  QueryUpdateSchema,
} from "../gen/axon/query_pb.ts";
import {
  booleanInstruction,
  instructionValue,
  numberInstruction,
  numericInstruction,
  replaceInstruction,
} from "../dendrite/axon/protocol/instructions.ts";
import {
  EMPTY_PAYLOAD,
  fromMetaData,
  fromSerializedObject,
  toMetaData,
  toSerializedObject,
} from "../dendrite/axon/protocol/messages.ts";
import { Payload } from "./payload.ts";
import type { HandlingError } from "./commands.ts";
import { errorDetailsOf, errorPayload } from "./command_service.ts";
import { errorResult, type QueryResult, type RoutedQuery } from "./query_types.ts";

/** `ProcessingKey.SERVER_SUPPORTS_STREAMING`. */
export const SERVER_SUPPORTS_STREAMING = ProcessingKey.SERVER_SUPPORTS_STREAMING;
/** `ProcessingKey.CLIENT_SUPPORTS_STREAMING`. */
export const CLIENT_SUPPORTS_STREAMING = ProcessingKey.CLIENT_SUPPORTS_STREAMING;

/** A routed query as the wire `QueryRequest` a handler receives (TIMEOUT = remaining time). */
export function toWireQuery(
  query: Omit<RoutedQuery, "signal" | "deadline" | "priority" | "streaming"> & { deadline?: number },
  registry: MessageRegistry,
  streaming = false,
): QueryRequest {
  const timeout = query.deadline === undefined ? undefined : Math.max(0, query.deadline - Date.now());
  const base = query.wire ?? create(QueryRequestSchema, {
    messageIdentifier: query.id,
    query: query.name,
    timestamp: BigInt(query.timestamp),
    payload: toSerializedObject(query.payload.serialized(registry)),
    metaData: toMetaData(query.metadata),
    clientId: query.clientId,
    componentName: query.component,
  });
  let instructions = replaceInstruction(
    base.processingInstructions,
    booleanInstruction(SERVER_SUPPORTS_STREAMING, streaming),
  );
  if (timeout !== undefined) {
    instructions = replaceInstruction(instructions, numberInstruction(ProcessingKey.TIMEOUT, timeout));
  }
  return { ...base, messageIdentifier: query.id, processingInstructions: instructions };
}

/** A wire query → a routed query (without its signal). */
export function fromWireQuery(wire: QueryRequest, defaultTimeoutMs: number): Omit<RoutedQuery, "signal"> {
  const id = wire.messageIdentifier === "" ? crypto.randomUUID() : wire.messageIdentifier;
  const timeout = numericInstruction(wire.processingInstructions, ProcessingKey.TIMEOUT);
  const streaming = instructionValue(wire.processingInstructions, CLIENT_SUPPORTS_STREAMING);
  return {
    id,
    name: wire.query,
    payload: Payload.ofSerialized(fromSerializedObject(wire.payload) ?? EMPTY_PAYLOAD),
    metadata: fromMetaData(wire.metaData),
    timestamp: Number(wire.timestamp),
    clientId: wire.clientId,
    component: wire.componentName,
    deadline: Date.now() + (timeout !== undefined && timeout > 0 ? timeout : defaultTimeoutMs),
    priority: numericInstruction(wire.processingInstructions, ProcessingKey.PRIORITY) ?? 0,
    streaming: streaming?.case === "booleanValue" && streaming.value,
    wire: { ...wire, messageIdentifier: id },
  };
}

/** An error as the wire `ErrorMessage`. */
export function wireError(error: HandlingError) {
  return create(ErrorMessageSchema, {
    message: error.message,
    details: [...error.details],
    location: error.location,
    errorCode: error.errorCode ?? error.code,
  });
}

/** A wire error (code, message, details payload) → a handling error. */
export function handlingError(
  code: string,
  message: QueryResponse["errorMessage"],
  fallback: string,
  details?: QueryResponse["payload"],
): HandlingError {
  return {
    code: code === "" ? fallback : code,
    message: message?.message ?? "",
    details: message?.details ?? [],
    location: message?.location ?? "",
    errorCode: message?.errorCode || undefined,
    payload: errorPayload(details),
  };
}

/** A wire response (or update) → a result. */
export function fromWireResult(response: QueryResponse | QueryUpdate): QueryResult {
  const failed = response.errorCode !== "" || response.errorMessage !== undefined;
  const payload = fromSerializedObject(response.payload) ?? EMPTY_PAYLOAD;
  return {
    id: response.messageIdentifier,
    metadata: fromMetaData(response.metaData),
    payload: failed || payload.type === "empty" || payload.type === ""
      ? undefined
      : Payload.ofSerialized(payload),
    error: failed
      ? handlingError(
        response.errorCode,
        response.errorMessage,
        AxonErrorCode.QUERY_EXECUTION_ERROR,
        response.payload,
      )
      : undefined,
  };
}

/** A result → the wire response to query `requestId`. */
export function toWireResponse(
  requestId: string,
  result: QueryResult,
  registry: MessageRegistry,
): QueryResponse {
  let payload = result.error ? errorDetailsOf(result.error, registry) : undefined;
  let error = result.error;
  if (!error && result.payload) {
    try {
      payload = toSerializedObject(result.payload.serialized(registry));
    } catch (cause) {
      error =
        errorResult(AxonErrorCode.QUERY_EXECUTION_ERROR, `The response cannot be serialized: ${cause}`).error;
    }
  }
  return create(QueryResponseSchema, {
    requestIdentifier: requestId,
    messageIdentifier: result.id,
    payload,
    metaData: toMetaData(result.metadata),
    errorCode: error?.code ?? "",
    errorMessage: error ? wireError(error) : undefined,
  });
}

/** A result → a subscription-query update. */
export function toWireUpdate(result: QueryResult, registry: MessageRegistry): QueryUpdate {
  const response = toWireResponse("", result, registry);
  return create(QueryUpdateSchema, {
    messageIdentifier: response.messageIdentifier,
    payload: response.payload,
    metaData: response.metaData,
    clientId: "",
    componentName: "",
    errorCode: response.errorCode,
    errorMessage: response.errorMessage,
  });
}
