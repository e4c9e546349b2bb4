/**
 * Who may use soma's status port. With an access token configured (the program always has one), processor state
 * and actions need it in the `AxonIQ-Access-Token` header (or `Authorization: Bearer …`) — a header, never a
 * cookie, so another site cannot make a browser send it. Actions are also refused when the request's `Origin` (or
 * `Sec-Fetch-Site`) says another site sent it. The read-only status stays open, without client and handler
 * details, while soma listens on loopback only.
 *
 * @module
 */
import { constantTimeEquals, TOKEN_HEADER } from "./grpc_errors.ts";
import type { SomaStatus } from "./status.ts";

/** The access rules of the status port. */
export interface StatusAccess {
  /** soma's access token; without one (loopback only, see token.ts) everything is open to same-origin callers. */
  readonly token?: string;
  /** Serve the read-only status without the token (soma listens on loopback only). */
  readonly openStatus: boolean;
}

/** The outcome of checking a request's credentials. */
export type Verdict = "ok" | "missing" | "wrong";

/** Checks the request's token against the configured one. */
export function authenticate(request: Request, access: StatusAccess): Verdict {
  if (access.token === undefined) return "ok";
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  const given = request.headers.get(TOKEN_HEADER) ?? bearer;
  if (given === null || given === undefined || given === "") return "missing";
  return constantTimeEquals(given, access.token) ? "ok" : "wrong";
}

/** Why a state-changing request looks cross-site, or undefined when it does not. */
export function crossSite(request: Request): string | undefined {
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== new URL(request.url).origin) {
    return `Cross-origin request refused (Origin "${origin}")`;
  }
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    return `Cross-site request refused (Sec-Fetch-Site "${site}")`;
  }
  return undefined;
}

/** The message of a refused request (401 when the token is missing, 403 when it is wrong). */
export function refusalOf(verdict: Exclude<Verdict, "ok">): { status: number; error: string } {
  return verdict === "missing"
    ? {
      status: 401,
      error:
        "soma's access token is required (AxonIQ-Access-Token header; it is in DATA_DIR/secure/soma-token)",
    }
    : { status: 403, error: "Invalid access token" };
}

/** The read-only status shown without the token: no client ids, tags or handler details, only counts. */
export function publicStatus(status: SomaStatus): Record<string, unknown> {
  return {
    node: status.node,
    versions: status.versions,
    events: status.events,
    counts: {
      clients: status.clients.length,
      commandHandlers: status.commandHandlers.length,
      queryHandlers: status.queryHandlers.length,
      subscriptionQueries: status.subscriptionQueries,
    },
    authenticated: false,
  };
}
