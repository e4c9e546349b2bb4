/**
 * From verified claims to message metadata: commands and queries carry the caller's subject and roles
 * (never the token), so handlers authorise by claims wherever they run.
 *
 * @module
 */
import { type Metadata, MetadataKeys } from "../core/message.ts";
import type { Claims } from "./jwt.ts";

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
