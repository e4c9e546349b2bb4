/**
 * gRPC-level errors as Axon Server sends them: a status code chosen from the Axon error code, and the code itself
 * in the `AxonIQ-ErrorCode` trailer. Also the server interceptor that checks the context and access-token headers
 * and makes sure every failed call (including the ones grpc-js fails itself: bad protobuf, oversized messages)
 * carries that trailer.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import {
  Metadata,
  type MethodDefinition,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServiceDefinition,
  status as Status,
} from "@grpc/grpc-js";
import { AxonErrorCode, DendriteError } from "../dendrite/mod.ts";

/** Trailer carrying the Axon error code of a failed call. */
export const ERROR_CODE_HEADER = "axoniq-errorcode";
/** Header naming the context. */
export const CONTEXT_HEADER = "axoniq-context";
/** Header carrying the access token. */
export const TOKEN_HEADER = "axoniq-access-token";
/** The only context soma serves. */
export const DEFAULT_CONTEXT = "default";

const STATUS_OF: Readonly<Record<string, Status>> = {
  "AXONIQ-0001": Status.CANCELLED,
  "AXONIQ-1000": Status.PERMISSION_DENIED,
  "AXONIQ-1001": Status.PERMISSION_DENIED,
  "AXONIQ-1002": Status.UNKNOWN,
  "AXONIQ-1004": Status.INTERNAL,
  "AXONIQ-1302": Status.NOT_FOUND,
  "AXONIQ-1900": Status.RESOURCE_EXHAUSTED,
  "AXONIQ-2000": Status.OUT_OF_RANGE,
  "AXONIQ-2001": Status.INVALID_ARGUMENT,
  "AXONIQ-2610": Status.INVALID_ARGUMENT,
  "AXONIQ-4000": Status.NOT_FOUND,
  "AXONIQ-4001": Status.CANCELLED,
  "AXONIQ-4002": Status.CANCELLED,
  "AXONIQ-4005": Status.INVALID_ARGUMENT,
  "AXONIQ-5000": Status.NOT_FOUND,
  "AXONIQ-5006": Status.CANCELLED,
  "AXONIQ-6001": Status.ABORTED,
  "AXONIQ-9000": Status.CANCELLED,
};

/** Codes soma uses for failures that are not Axon domain errors. */
export const SomaErrorCode = {
  ...AxonErrorCode,
  /** The client went away (stream cancelled, heartbeat timeout). */
  CLIENT_DISCONNECTED: "AXONIQ-6001",
  /** Storage failed (SQLite error). */
  DATAFILE_WRITE_ERROR: "AXONIQ-9000",
  SCHEDULED_EVENT_NOT_FOUND: "AXONIQ-2610",
} as const;

/** A grpc-js server error: status code, details and the trailer with the Axon code. */
export interface AxonServiceError {
  readonly code: Status;
  readonly details: string;
  readonly message: string;
  readonly metadata: Metadata;
  readonly name: string;
}

/** Builds the gRPC error for an Axon error code (status from the Axon table unless `status` is given). */
export function axonError(code: string, details: string, status?: Status): AxonServiceError {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_HEADER, code);
  return {
    code: status ?? STATUS_OF[code] ?? Status.UNKNOWN,
    details,
    message: details,
    metadata,
    name: "AxonServiceError",
  };
}

/** The gRPC error for anything thrown while serving a call. */
export function toServiceError(error: unknown): AxonServiceError {
  if (error instanceof DendriteError) return axonError(error.code, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return axonError(SomaErrorCode.DATAFILE_WRITE_ERROR, message, Status.INTERNAL);
}

/** The Axon code grpc-js' own failures get in the trailer. */
function codeForStatus(code: Status): string {
  if (code === Status.RESOURCE_EXHAUSTED) return AxonErrorCode.PAYLOAD_TOO_LARGE;
  if (code === Status.PERMISSION_DENIED) return AxonErrorCode.AUTHENTICATION_INVALID_TOKEN;
  return AxonErrorCode.OTHER;
}

/** Stands in for a request that does not decode; {@link axonInterceptor} answers it with INVALID_ARGUMENT. */
export const INVALID_REQUEST: unique symbol = Symbol("invalid request");
/** Stands in for a request above the size limit; answered with RESOURCE_EXHAUSTED + AXONIQ-2001. */
export const OVERSIZED_REQUEST: unique symbol = Symbol("oversized request");

/**
 * A copy of a service definition whose request deserializers return {@link INVALID_REQUEST} instead of throwing,
 * so the interceptor can answer bad protobuf with `INVALID_ARGUMENT` + trailer (grpc-js would send INTERNAL), and
 * return {@link OVERSIZED_REQUEST} above `maxMessageSize` (grpc-js' own limit, which answers without the trailer,
 * is set higher as a hard cap).
 */
export function lenientRequests<D extends ServiceDefinition>(definition: D, maxMessageSize: number): D {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  const methods = definition as unknown as Record<string, MethodDefinition<unknown, unknown>>;
  for (const [name, method] of Object.entries(methods)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        if (bytes.length > maxMessageSize) return OVERSIZED_REQUEST;
        try {
          return method.requestDeserialize(bytes);
        } catch {
          return INVALID_REQUEST;
        }
      },
    };
  }
  return out as unknown as D;
}

/** Options of {@link axonInterceptor}. */
export interface InterceptorOptions {
  /** When set, every call must carry this token in `AxonIQ-Access-Token`. */
  readonly accessToken?: string;
}

/**
 * The server interceptor: refuses calls for other contexts (`NOT_FOUND`, AXONIQ-1302) and, when an access token is
 * configured, calls without it (`PERMISSION_DENIED`, AXONIQ-1000) or with a wrong one (AXONIQ-1001). It also turns
 * grpc-js' "Error deserializing request" into `INVALID_ARGUMENT` and adds the `AxonIQ-ErrorCode` trailer to every
 * failed status that lacks one.
 */
export function axonInterceptor(options: InterceptorOptions = {}): ServerInterceptor {
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMessage(message, nextMessage) {
            if (message === OVERSIZED_REQUEST) {
              call.sendStatus(
                axonError(
                  AxonErrorCode.PAYLOAD_TOO_LARGE,
                  "The request is larger than the maximum message size",
                  Status.RESOURCE_EXHAUSTED,
                ),
              );
              return;
            }
            if (message === INVALID_REQUEST) {
              call.sendStatus(
                axonError(
                  AxonErrorCode.OTHER,
                  "The request is not a valid protobuf message of the expected type",
                  Status.INVALID_ARGUMENT,
                ),
              );
              return;
            }
            nextMessage(message);
          },
          onReceiveMetadata(metadata, nextMetadata) {
            const refusal = checkHeaders(metadata, options);
            if (refusal) {
              call.sendStatus(refusal);
              return;
            }
            nextMetadata(metadata);
          },
        });
      },
      sendStatus(status, next) {
        if (status.code === Status.OK) return next(status);
        let { code, details } = status;
        if (code === Status.INTERNAL && details?.startsWith("Error deserializing request")) {
          code = Status.INVALID_ARGUMENT;
          details = "The request is not a valid protobuf message of the expected type";
        }
        const metadata = status.metadata ?? new Metadata();
        if (metadata.get(ERROR_CODE_HEADER).length === 0) {
          metadata.set(ERROR_CODE_HEADER, codeForStatus(code));
        }
        next({ code, details, metadata });
      },
    });
}

function checkHeaders(metadata: Metadata, options: InterceptorOptions): AxonServiceError | undefined {
  const context = headerValue(metadata, CONTEXT_HEADER) ?? headerValue(metadata, "context") ??
    DEFAULT_CONTEXT;
  if (context !== DEFAULT_CONTEXT) {
    return axonError(
      AxonErrorCode.CONTEXT_NOT_FOUND,
      `Context "${context}" not found: soma serves only the "${DEFAULT_CONTEXT}" context`,
    );
  }
  if (options.accessToken === undefined) return undefined;
  const token = headerValue(metadata, TOKEN_HEADER) ?? headerValue(metadata, "access-token");
  if (token === undefined) {
    return axonError(AxonErrorCode.AUTHENTICATION_TOKEN_MISSING, "Access token missing");
  }
  if (!constantTimeEquals(token, options.accessToken)) {
    return axonError(AxonErrorCode.AUTHENTICATION_INVALID_TOKEN, "Invalid access token");
  }
  return undefined;
}

function headerValue(metadata: Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}

/** Compares two strings in time independent of where they differ. */
export function constantTimeEquals(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
