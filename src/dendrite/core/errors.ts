/**
 * The errors dendrite raises. Every one carries a stable `code`: Axon's `AXONIQ-xxxx` codes for infrastructure
 * failures (see the Axon Server error table) and the application's own codes for domain rejections.
 *
 * @module
 */

/**
 * Axon error codes dendrite produces or understands.
 *
 * @example
 * ```ts
 * import { AxonErrorCode, DendriteError } from "./errors.ts";
 * const concurrent = (error: unknown) => error instanceof DendriteError && error.code === AxonErrorCode.INVALID_SEQUENCE;
 * ```
 */
export const AxonErrorCode = {
  OTHER: "AXONIQ-0001",
  AUTHENTICATION_TOKEN_MISSING: "AXONIQ-1000",
  AUTHENTICATION_INVALID_TOKEN: "AXONIQ-1001",
  UNSUPPORTED_INSTRUCTION: "AXONIQ-1002",
  INSTRUCTION_EXECUTION_ERROR: "AXONIQ-1004",
  CONTEXT_NOT_FOUND: "AXONIQ-1302",
  TOO_MANY_REQUESTS: "AXONIQ-1900",
  INVALID_SEQUENCE: "AXONIQ-2000",
  PAYLOAD_TOO_LARGE: "AXONIQ-2001",
  NO_HANDLER_FOR_COMMAND: "AXONIQ-4000",
  CONNECTION_TO_HANDLER_LOST: "AXONIQ-4001",
  COMMAND_TIMEOUT: "AXONIQ-4002",
  COMMAND_EXECUTION_ERROR: "AXONIQ-4002",
  COMMAND_DISPATCH_ERROR: "AXONIQ-4003",
  CONCURRENCY_EXCEPTION: "AXONIQ-4004",
  COMMAND_DUPLICATED: "AXONIQ-4005",
  COMMAND_EXECUTION_NON_TRANSIENT_ERROR: "AXONIQ-4005",
  NO_HANDLER_FOR_QUERY: "AXONIQ-5000",
  QUERY_EXECUTION_ERROR: "AXONIQ-5001",
  QUERY_DISPATCH_ERROR: "AXONIQ-5002",
  QUERY_EXECUTION_NON_TRANSIENT_ERROR: "AXONIQ-5003",
  QUERY_TIMEOUT: "AXONIQ-5006",
  QUERY_DUPLICATED: "AXONIQ-5007",
} as const;

/**
 * Exception details as a serialized object (the shape of the registry's `SerializedPayload`).
 *
 * @example
 * ```ts
 * import { DomainError, type ErrorDetails } from "../mod.ts";
 * const errorDetails: ErrorDetails = {
 *   type: "example.v1.GreeterStatus",
 *   revision: "",
 *   data: new Uint8Array(),
 * };
 * const error = new DomainError("EX001", "Not recording", { errorDetails });
 * ```
 */
export interface ErrorDetails {
  /** The detail's type name (a protobuf message name, or e.g. a Java class name from Axon Framework). */
  readonly type: string;
  /** The detail's schema revision ("" by default). */
  readonly revision: string;
  /** The serialized detail. */
  readonly data: Uint8Array;
}

/**
 * Options of every dendrite error.
 *
 * @example
 * ```ts
 * import { DendriteError, type DendriteErrorOptions } from "../mod.ts";
 * const options: DendriteErrorOptions = { cause: new Error("disk full") };
 * const error = new DendriteError("AXONIQ-0001", "Append failed", options);
 * console.log(error.cause); // Error: disk full
 * ```
 */
export interface DendriteErrorOptions extends ErrorOptions {
  /** Exception details for the caller (see {@link DendriteError.errorDetails}). */
  readonly errorDetails?: ErrorDetails;
}

/**
 * Base class of every error dendrite raises on purpose.
 *
 * @example
 * ```ts
 * import { DendriteError } from "./errors.ts";
 * const error = new DendriteError("AXONIQ-0001", "Something failed");
 * console.log(error.code); // AXONIQ-0001
 * ```
 */
export class DendriteError extends Error {
  /** A stable, machine-readable code (`AXONIQ-xxxx` or an application code). */
  readonly code: string;
  /**
   * Exception details: a serialized object a command or query handler attaches to its failure, carried in the
   * error response's `payload` next to `error_code` / `error_message` (Axon Framework's
   * `HandlerExecutionException.getDetails()`). A handler that throws an error with details sends them; a
   * dispatcher receives them here.
   */
  readonly errorDetails?: ErrorDetails;

  /** An error with a stable `code` and a message. */
  constructor(code: string, message: string, options?: DendriteErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    if (options?.errorDetails) this.errorDetails = options.errorDetails;
  }
}

/**
 * How a domain rejection maps onto an API status.
 *
 * @example
 * ```ts
 * import { DomainError, type DomainErrorKind } from "../mod.ts";
 * const kind: DomainErrorKind = "not-found";
 * const error = new DomainError("EX404", 'No greeter "main"', { kind });
 * console.log(error.kind); // not-found
 * ```
 */
export type DomainErrorKind =
  | "failed-precondition"
  | "invalid-argument"
  | "not-found"
  | "already-exists"
  | "permission-denied"
  | "unauthenticated";

/**
 * A command or query refused by the domain: the request is understood but not allowed in the current state.
 * Not retried. `code` is the application's own (e.g. `EX001`).
 *
 * @example
 * ```ts
 * import { DomainError } from "./errors.ts";
 * const refusal = new DomainError("EX001", 'Greeter "main" is not recording');
 * ```
 */
export class DomainError extends DendriteError {
  /** What kind of refusal this is (mapped to a gRPC status at the API). */
  readonly kind: DomainErrorKind;

  /** A domain refusal with the application's `code` (e.g. `EX001`). */
  constructor(code: string, message: string, options?: DendriteErrorOptions & { kind?: DomainErrorKind }) {
    super(code, message, options);
    this.kind = options?.kind ?? "failed-precondition";
  }
}

/**
 * An append lost an optimistic-concurrency race: another writer stored that aggregate sequence first.
 *
 * @example
 * ```ts
 * import { ConcurrencyError } from "./errors.ts";
 * console.log(new ConcurrencyError("Aggregate main changed").code); // AXONIQ-2000
 * ```
 */
export class ConcurrencyError extends DendriteError {
  /** A concurrent write changed the aggregate first (AXONIQ-2000). */
  constructor(message: string, options?: ErrorOptions) {
    super(AxonErrorCode.INVALID_SEQUENCE, message, options);
  }
}

/**
 * No handler is subscribed for a command or query name.
 *
 * @example
 * ```ts
 * import { NoHandlerError } from "./errors.ts";
 * console.log(new NoHandlerError("command", "example.v1.GreetCommand").message);
 * ```
 */
export class NoHandlerError extends DendriteError {
  /** No handler is subscribed for the command or query `name`. */
  constructor(kind: "command" | "query", name: string) {
    super(
      kind === "command" ? AxonErrorCode.NO_HANDLER_FOR_COMMAND : AxonErrorCode.NO_HANDLER_FOR_QUERY,
      `No handler for ${kind} "${name}"`,
    );
  }
}

/**
 * A message handler, a dispatch or a wait took longer than allowed.
 *
 * @example
 * ```ts
 * import { AxonErrorCode, TimeoutError } from "./errors.ts";
 * const error = new TimeoutError("No answer within 30 s", AxonErrorCode.QUERY_TIMEOUT);
 * ```
 */
export class TimeoutError extends DendriteError {
  /** The call did not complete in time (`code`: the command or query timeout code). */
  constructor(message: string, code: string = AxonErrorCode.COMMAND_TIMEOUT) {
    super(code, message);
  }
}

/**
 * A payload whose type the registry does not know, or whose bytes do not decode.
 *
 * @example
 * ```ts
 * import { SerializationError } from "./errors.ts";
 * const error = new SerializationError('Payload of type "example.v1.GreetedEvent" does not decode');
 * ```
 */
export class SerializationError extends DendriteError {
  /** A payload could not be encoded or decoded. */
  constructor(message: string, options?: ErrorOptions) {
    super(AxonErrorCode.OTHER, message, options);
  }
}

/**
 * An Axon-protocol error received from a server or a remote handler, with its code.
 *
 * @example
 * ```ts
 * import { RemoteError } from "./errors.ts";
 * const error = new RemoteError("AXONIQ-4002", "Handler failed", [], "greeter@host");
 * console.log(error.code); // AXONIQ-4002
 * ```
 */
export class RemoteError extends DendriteError {
  /** Details as sent by the remote side (cause chain). */
  readonly details: readonly string[];
  /** Where it happened (the remote client id or node name), when known. */
  readonly location: string;

  /** A failure the remote side reported, with its code, details and location. */
  constructor(
    code: string,
    message: string,
    details: readonly string[] = [],
    location = "",
    options?: DendriteErrorOptions,
  ) {
    super(code, message, options);
    this.details = details;
    this.location = location;
  }
}

/**
 * A token-store claim was lost to another owner (or never held).
 *
 * @example
 * ```ts
 * import { ClaimError } from "./errors.ts";
 * const error = new ClaimError("Segment 0 of greetings is claimed by another instance");
 * ```
 */
export class ClaimError extends DendriteError {
  /** A segment claim was lost or refused. */
  constructor(message: string) {
    super(AxonErrorCode.OTHER, message);
  }
}

/** Thrown where an operation was cancelled through its `AbortSignal`. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/**
 * A store, transport or server was unavailable (a refused connection, a timeout, a 429/502/503/504, a busy
 * database, a gRPC UNAVAILABLE): the operation may succeed unchanged once the infrastructure is back. A tracking
 * processor backs off and retries such a failure forever and never counts it as a poison attempt.
 *
 * @example
 * ```ts
 * import { isTransient, TransientError } from "./errors.ts";
 * console.log(isTransient(new TransientError("Elasticsearch is unavailable"))); // true
 * ```
 */
export class TransientError extends DendriteError {
  /** A failure of the infrastructure that is worth retrying. */
  constructor(message: string, options?: ErrorOptions) {
    super(AxonErrorCode.OTHER, message, options);
  }
}

/** SQLITE_BUSY (5) or SQLITE_LOCKED (6), by result code (Node) or by SQLite's message for them (Deno). */
function isBusy(errcode: unknown, message: unknown): boolean {
  if (typeof errcode === "number") return (errcode & 0xff) === 5 || (errcode & 0xff) === 6;
  return typeof message === "string" && /database (table )?is locked/.test(message);
}

/** gRPC / Connect status UNAVAILABLE. */
const GRPC_UNAVAILABLE = 14;

/** UNAVAILABLE from Connect, from `@grpc/grpc-js` (a `ServiceError`) or the Axon connector's `GrpcError`. */
function isUnavailable(error: object, name: unknown, code: unknown): boolean {
  if (name === "ConnectError" || "metadata" in error) return code === GRPC_UNAVAILABLE;
  return name === "GrpcError" && (error as { status?: unknown }).status === GRPC_UNAVAILABLE;
}

/**
 * True when `error` (or an error in its `cause` chain) is a {@link TransientError}, or is recognized as one
 * structurally: `node:sqlite`'s `SQLITE_BUSY` / `SQLITE_LOCKED` and a gRPC/Connect `UNAVAILABLE` status (read without
 * depending on the libraries that raise them).
 *
 * @example
 * ```ts
 * import { isTransient } from "./errors.ts";
 * console.log(isTransient(new Error("a bug"))); // false
 * ```
 */
export function isTransient(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === "object" && e !== null && depth < 8; depth++) {
    if (e instanceof TransientError) return true;
    const { code, name, message, errcode } = e as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      errcode?: unknown;
    };
    if (code === "ERR_SQLITE_ERROR" && isBusy(errcode, message)) return true;
    if (isUnavailable(e, name, code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
