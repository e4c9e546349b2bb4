/**
 * Errors across the in-process boundary: a handler's failure as the Axon error the router carries
 * ({@link handlingErrorOf}), and an Axon error outcome as the error an in-process caller sees ({@link errorOf}).
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  AxonErrorCode,
  DendriteError,
  type MessageRegistry,
  NoHandlerError,
  TimeoutError,
} from "../dendrite/mod.ts";
import { fromErrorMessage, toErrorMessage } from "../dendrite/axon/protocol/errors.ts";
import { toSerializedObject } from "../dendrite/axon/protocol/messages.ts";
import { ErrorMessageSchema } from "../gen/axon/common_pb.ts";
import type { HandlingError } from "./commands.ts";
import { Payload } from "./payload.ts";

/** A handler's failure as an Axon error (the original error travels along for in-process callers). */
export function handlingErrorOf(error: unknown, fallbackCode: string, location: string): HandlingError {
  const kind = fallbackCode === AxonErrorCode.QUERY_EXECUTION_ERROR ? "query" : "command";
  const { code, message } = toErrorMessage(error, location, kind);
  const details = [...message.details];
  for (
    let cause = error instanceof Error ? error.cause : undefined;
    cause !== undefined && details.length < 10;
  ) {
    details.push(cause instanceof Error ? cause.message : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  const errorDetails = error instanceof DendriteError ? error.errorDetails : undefined;
  return {
    code,
    message: message.message,
    details,
    location,
    errorCode: message.errorCode,
    payload: errorDetails ? Payload.ofSerialized(errorDetails) : undefined,
    cause: error,
  };
}

/** The error an in-process caller sees for an Axon error outcome. */
export function errorOf(
  error: HandlingError,
  kind: "command" | "query",
  name: string,
  registry: MessageRegistry,
): unknown {
  if (error.cause !== undefined) return error.cause;
  if (error.location === "soma" && error.code === AxonErrorCode.COMMAND_TIMEOUT) {
    return new TimeoutError(error.message, error.code);
  }
  const message = create(ErrorMessageSchema, {
    message: error.message,
    details: [...error.details],
    location: error.location,
    errorCode: error.errorCode ?? error.code,
  });
  const details = error.payload ? toSerializedObject(error.payload.serialized(registry)) : undefined;
  const typed = fromErrorMessage(error.code, message, name, details);
  return typed instanceof NoHandlerError ? new NoHandlerError(kind, name) : typed;
}
