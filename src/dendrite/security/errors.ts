/**
 * The refusals of the security layer. Both are `DomainError`s whose `kind` maps onto the API status:
 * UNAUTHENTICATED (HTTP 401 in Connect) and PERMISSION_DENIED (HTTP 403). Messages never contain secrets.
 *
 * @module
 */
import { DomainError } from "../core/errors.ts";

/**
 * Security error codes.
 *
 * @example
 * ```ts
 * import { SecurityErrors } from "./errors.ts";
 * import { DomainError } from "../core/errors.ts";
 * const signInAgain = (error: unknown) => error instanceof DomainError && error.code === SecurityErrors.UNAUTHENTICATED;
 * ```
 */
export const SecurityErrors = {
  /** No credentials, or credentials that do not prove who the caller is. */
  UNAUTHENTICATED: "SEC001",
  /** The caller is known but lacks the role or right. */
  PERMISSION_DENIED: "SEC002",
} as const;

/**
 * The caller could not be authenticated: no token, an invalid, expired or tampered one, a bad signature.
 *
 * @example
 * ```ts
 * import { UnauthenticatedError } from "./errors.ts";
 * throw new UnauthenticatedError("The token has expired");
 * ```
 */
export class UnauthenticatedError extends DomainError {
  /** The caller is not (or no longer) signed in. */
  constructor(message: string, options?: ErrorOptions) {
    super(SecurityErrors.UNAUTHENTICATED, message, { ...options, kind: "unauthenticated" });
  }
}

/**
 * The caller is authenticated but not allowed to do this.
 *
 * @example
 * ```ts
 * import { PermissionDeniedError } from "./errors.ts";
 * throw new PermissionDeniedError('Role "admin" is required');
 * ```
 */
export class PermissionDeniedError extends DomainError {
  /** The caller lacks the permission. */
  constructor(message: string, options?: ErrorOptions) {
    super(SecurityErrors.PERMISSION_DENIED, message, { ...options, kind: "permission-denied" });
  }
}
