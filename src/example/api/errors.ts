/**
 * The one place where errors become API statuses. Domain refusals keep their message and their domain code
 * (also as the `x-error-code` error metadata); infrastructure failures get a status the client can act on;
 * anything unexpected becomes `Internal` with only a reference id, and the details go to the server log.
 *
 * @module
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  AxonErrorCode,
  ChannelOverflowError,
  ConcurrencyError,
  DendriteError,
  DomainError,
  type DomainErrorKind,
  NoHandlerError,
  SubscriptionLimitError,
  TimeoutError,
} from "../../dendrite/mod.ts";
import { errorFields, type Logger } from "../../server/log.ts";

/** Error metadata key carrying the application's (or Axon's) error code. */
export const ERROR_CODE_KEY = "x-error-code";

const DOMAIN_KINDS: Record<DomainErrorKind, Code> = {
  "failed-precondition": Code.FailedPrecondition,
  "invalid-argument": Code.InvalidArgument,
  "not-found": Code.NotFound,
  "already-exists": Code.AlreadyExists,
  "permission-denied": Code.PermissionDenied,
  "unauthenticated": Code.Unauthenticated,
};

/** Axon codes of errors that carry no further class (e.g. received from a remote server). */
const AXON_CODES: Readonly<Record<string, Code>> = {
  [AxonErrorCode.NO_HANDLER_FOR_COMMAND]: Code.Unavailable,
  [AxonErrorCode.NO_HANDLER_FOR_QUERY]: Code.Unavailable,
  [AxonErrorCode.CONNECTION_TO_HANDLER_LOST]: Code.Unavailable,
  [AxonErrorCode.COMMAND_TIMEOUT]: Code.DeadlineExceeded,
  [AxonErrorCode.QUERY_TIMEOUT]: Code.DeadlineExceeded,
  [AxonErrorCode.INVALID_SEQUENCE]: Code.Aborted,
  [AxonErrorCode.CONCURRENCY_EXCEPTION]: Code.Aborted,
  [AxonErrorCode.TOO_MANY_REQUESTS]: Code.ResourceExhausted,
};

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && (error.name === "AbortError" || error.name === "TimeoutError");
}

/**
 * Maps any error thrown by an API handler to a `ConnectError` that is safe to send to clients.
 *
 * @example
 * ```ts
 * import { DomainError } from "../../dendrite/mod.ts";
 * import { silentLogger } from "../../server/log.ts";
 * import { toConnectError } from "./errors.ts";
 * const error = toConnectError(new DomainError("EX001", "Not recording"), silentLogger, "Greet");
 * console.log(error.rawMessage); // "EX001: Not recording"
 * ```
 */
export function toConnectError(error: unknown, logger: Logger, procedure: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof DomainError) {
    return new ConnectError(`${error.code}: ${error.message}`, DOMAIN_KINDS[error.kind], {
      [ERROR_CODE_KEY]: error.code,
    });
  }
  if (error instanceof NoHandlerError) {
    return new ConnectError("The service is not available right now", Code.Unavailable, {
      [ERROR_CODE_KEY]: error.code,
    });
  }
  if (error instanceof TimeoutError) {
    return new ConnectError("The request took too long", Code.DeadlineExceeded, {
      [ERROR_CODE_KEY]: error.code,
    });
  }
  if (error instanceof ConcurrencyError) {
    return new ConnectError("A concurrent change won; try again", Code.Aborted, {
      [ERROR_CODE_KEY]: error.code,
    });
  }
  if (error instanceof ChannelOverflowError) {
    return new ConnectError("The stream's reader fell too far behind", Code.ResourceExhausted);
  }
  if (error instanceof SubscriptionLimitError) {
    return new ConnectError(error.message, Code.ResourceExhausted, { [ERROR_CODE_KEY]: error.code });
  }
  if (isAbort(error)) return new ConnectError("The request was cancelled", Code.Canceled);
  if (error instanceof DendriteError && error.code in AXON_CODES) {
    logger.warn("rpc failed", { procedure, code: error.code, ...errorFields(error) });
    return new ConnectError(`The request failed (${error.code})`, AXON_CODES[error.code], {
      [ERROR_CODE_KEY]: error.code,
    });
  }
  const reference = crypto.randomUUID();
  logger.error("rpc failed with an internal error", { procedure, reference, ...errorFields(error) });
  return new ConnectError(`Internal error (reference ${reference})`, Code.Internal);
}

async function* mapStream<T>(
  stream: AsyncIterable<T>,
  map: (error: unknown) => ConnectError,
): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (error) {
    throw map(error);
  }
}

/**
 * A server interceptor applying {@link toConnectError} to unary results and to errors raised while a response
 * stream is produced.
 */
export function errorMappingInterceptor(logger: Logger): Interceptor {
  return (next) => async (request) => {
    const procedure = `${request.service.typeName}/${request.method.name}`;
    const map = (error: unknown) => toConnectError(error, logger, procedure);
    try {
      const response = await next(request);
      if (!response.stream) return response;
      return { ...response, message: mapStream(response.message, map) };
    } catch (error) {
      throw map(error);
    }
  };
}
