/**
 * From verified claims to message metadata and back: commands and queries carry the caller's subject and roles
 * (never the token), so handlers authorise by claims wherever they run.
 *
 * @module
 */
import { type Metadata, MetadataKeys } from "../core/message.ts";
import { PermissionDeniedError, UnauthenticatedError } from "./errors.ts";
import type { Claims } from "./jwt.ts";

/** The caller as metadata describes it. */
export interface Principal {
  readonly subject: string;
  readonly roles: readonly string[];
}

/**
 * Metadata for a command or query sent on behalf of the caller: `subject` and `roles` (comma-separated).
 * Without claims (an anonymous caller) it is empty. `extra` (e.g. a correlation id) is kept.
 *
 * @example
 * ```ts
 * import { metadataFromClaims } from "./claims.ts";
 * const metadata = metadataFromClaims({ subject: "alice", roles: ["admin"], issuedAt: 0, expiresAt: 0, keyId: "k" });
 * console.log(metadata); // { subject: "alice", roles: "admin" }
 * ```
 */
export function metadataFromClaims(claims: Claims | undefined, extra: Metadata = {}): Metadata {
  if (!claims) return { ...extra };
  return { ...extra, [MetadataKeys.subject]: claims.subject, [MetadataKeys.roles]: claims.roles.join(",") };
}

/** The caller recorded in metadata, or undefined for an anonymous one. */
export function principalFromMetadata(metadata: Metadata): Principal | undefined {
  const subject = metadata[MetadataKeys.subject];
  if (typeof subject !== "string" || subject === "") return undefined;
  const roles = metadata[MetadataKeys.roles];
  return {
    subject,
    roles: typeof roles === "string" && roles !== "" ? roles.split(",") : [],
  };
}

/**
 * Throws unless the metadata's caller has one of `roles`: {@link UnauthenticatedError} for an anonymous caller,
 * {@link PermissionDeniedError} for one without the role. For handlers that authorise by claims.
 *
 * @example
 * ```ts
 * import { requireRole } from "./claims.ts";
 * requireRole({ subject: "alice", roles: "admin" }, ["admin"]); // passes
 * ```
 */
export function requireRole(metadata: Metadata, roles: readonly string[]): Principal {
  const principal = principalFromMetadata(metadata);
  if (!principal) throw new UnauthenticatedError("This needs a signed-in caller");
  if (!roles.some((role) => principal.roles.includes(role))) {
    throw new PermissionDeniedError(`This needs role ${roles.map((r) => `"${r}"`).join(" or ")}`);
  }
  return principal;
}
