/**
 * What the security services share: mapping refusals onto API errors, the signer of a verified request, the
 * `Authorization` a change carries into its event, and running a change until the model shows it.
 *
 * @module
 */
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { DomainError, type Metadata, MetadataKeys } from "../../dendrite/mod.ts";
import { authorizationOf, signerKey, TooManyAttemptsError } from "../../dendrite/security/mod.ts";
import type { Authorization } from "../../gen/dendrite/security/v1/signature_pb.ts";
import type { SecurityCore } from "./core.ts";

const STATUS: Record<DomainError["kind"], Code> = {
  "failed-precondition": Code.FailedPrecondition,
  "invalid-argument": Code.InvalidArgument,
  "not-found": Code.NotFound,
  "already-exists": Code.AlreadyExists,
  "permission-denied": Code.PermissionDenied,
  "unauthenticated": Code.Unauthenticated,
};

/**
 * Maps a domain refusal onto a ConnectError (with its code in the message) and too many attempts onto
 * RESOURCE_EXHAUSTED with a `retry-after` header (seconds); other errors pass unchanged.
 */
export function toConnectError(error: unknown): unknown {
  if (error instanceof DomainError) {
    return new ConnectError(`${error.message} (${error.code})`, STATUS[error.kind]);
  }
  if (error instanceof TooManyAttemptsError) {
    return new ConnectError(error.message, Code.ResourceExhausted, {
      "retry-after": String(error.retryAfterSeconds),
    });
  }
  return error;
}

/** The interceptors of a security service (undefined: the router's own). */
export type ServiceOptions = { interceptors: Interceptor[] } | undefined;

/** A verified signed change: who signed it (as command metadata) and the authorization its event carries. */
export interface SignedChange {
  readonly metadata: Metadata;
  readonly authorization: Authorization;
}

/** The signed change of a request the auth interceptor verified. */
export function signedChange(context: HandlerContext, request: Message): SignedChange {
  const signer = context.values.get(signerKey);
  if (!signer) throw new ConnectError("The request was not verified as signed", Code.Internal);
  const method = context.method;
  const input: DescMessage = method.input;
  return {
    metadata: { [MetadataKeys.subject]: `key-manager:${signer.keyId}` },
    authorization: authorizationOf(input, request, `${method.parent.typeName}/${method.name}`),
  };
}

/** Throws INVALID_ARGUMENT with `problem`, if there is one. */
export function invalid(problem: string | undefined): void {
  if (problem) throw new ConnectError(problem, Code.InvalidArgument);
}

/** Runs a command and waits until the model shows it. */
export async function change(core: SecurityCore, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    await core.caughtUp();
  } catch (error) {
    throw toConnectError(error);
  }
}
