/**
 * The Axon Server protocol's error mapping, shared by the connector and soma: a handler's error → the error code
 * and `ErrorMessage` of a command or query response, and back to the typed error a dispatcher throws.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { type ErrorMessage, ErrorMessageSchema, type SerializedObject } from "../../../gen/axon/common_pb.ts";
import {
  AxonErrorCode,
  ConcurrencyError,
  DendriteError,
  DomainError,
  type DomainErrorKind,
  NoHandlerError,
  RemoteError,
  TimeoutError,
} from "../../core/errors.ts";
import { fromSerializedObject, toSerializedObject } from "./messages.ts";

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
