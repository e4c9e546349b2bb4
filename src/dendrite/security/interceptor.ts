/**
 * The connect-es server interceptor that enforces an {@link AuthPolicy}.
 *
 * Per call it reads `authorization: Bearer <jwt>` (when present, always verified, even on public methods), then
 * applies the method's rule: public passes; a role rule needs a token with one of the roles (no token →
 * UNAUTHENTICATED, i.e. HTTP 401 in Connect; missing role → PERMISSION_DENIED); a signed rule verifies the
 * key-manager signature over the challenge and the request; unnamed methods are refused. The verified claims
 * and signer are put into the call's context values ({@link claimsKey}, {@link signerKey}) for handlers.
 *
 * @module
 */
import { Code, ConnectError, type ContextKey, createContextKey, type Interceptor } from "@connectrpc/connect";
import { DomainError } from "../core/errors.ts";
import type { Claims } from "./jwt.ts";
import { type AuthPolicy, ruleFor } from "./policy.ts";
import type { ChallengeStore } from "./challenges.ts";
import {
  type KeyManagerResolver,
  signatureField,
  type Signer,
  verifySignedRequest,
} from "./signed_request.ts";

/**
 * The client's network address, when the server puts it into the call's context values (e.g. connect-node's
 * `contextValues: (req) => createContextValues().set(peerAddressKey, req.socket.remoteAddress ?? "")`).
 *
 * @example
 * ```ts
 * import { createContextValues } from "@connectrpc/connect";
 * import { peerAddressKey } from "./interceptor.ts";
 * const values = createContextValues().set(peerAddressKey, "10.0.0.1");
 * ```
 */
export const peerAddressKey: ContextKey<string> = createContextKey<string>("", {
  description: "dendrite.peer-address",
});

/**
 * The verified claims of the caller (undefined for an anonymous call).
 *
 * @example
 * ```ts
 * import type { HandlerContext } from "@connectrpc/connect";
 * import { claimsKey } from "./interceptor.ts";
 * const callerOf = (context: HandlerContext) => context.values.get(claimsKey)?.subject ?? "anonymous";
 * ```
 */
export const claimsKey: ContextKey<Claims | undefined> = createContextKey<Claims | undefined>(undefined, {
  description: "dendrite.claims",
});

/**
 * The key manager that signed the request (signed methods only).
 *
 * @example
 * ```ts
 * import type { HandlerContext } from "@connectrpc/connect";
 * import { signerKey } from "./interceptor.ts";
 * const signedBy = (context: HandlerContext) => context.values.get(signerKey)?.keyId;
 * ```
 */
export const signerKey: ContextKey<Signer | undefined> = createContextKey<Signer | undefined>(undefined, {
  description: "dendrite.signer",
});

/**
 * Anything that turns a token into claims or throws.
 *
 * @example
 * ```ts
 * import { createAuthInterceptor, type TokenVerifier, UnauthenticatedError } from "./mod.ts";
 * // A fixed-token verifier for a local tool (a JwtVerifier is one too):
 * const verifier: TokenVerifier = {
 *   verify: (token) =>
 *     token === Deno.env.get("ADMIN_TOKEN")
 *       ? Promise.resolve({ subject: "admin", roles: ["admin"], issuedAt: 0, expiresAt: 0, keyId: "" })
 *       : Promise.reject(new UnauthenticatedError("Unknown token")),
 * };
 * const policy = { roles: { "example.v1.GreeterService/*": ["admin"] } };
 * const auth = createAuthInterceptor({ policy, verifier });
 * ```
 */
export interface TokenVerifier {
  /** The token's claims; throws {@link UnauthenticatedError} for a bad token. */
  verify(token: string): Promise<Claims>;
}

/**
 * Options of {@link createAuthInterceptor}.
 *
 * @example
 * ```ts
 * import { type AuthInterceptorOptions, ChallengeStore, createAuthInterceptor, JwtVerifier } from "./mod.ts";
 * const options: AuthInterceptorOptions = {
 *   policy: { public: ["example.v1.GreeterService/Search"], signed: ["dendrite.security.v1.KeyService/*"] },
 *   verifier: new JwtVerifier({ issuer: "dendrite", audience: "dendrite-api", resolveKey: () => undefined }),
 *   signatures: { challenges: new ChallengeStore(), resolveManager: () => undefined },
 * };
 * const auth = createAuthInterceptor(options);
 * ```
 */
export interface AuthInterceptorOptions {
  /** Which methods are public, need a role, or need a signature. */
  readonly policy: AuthPolicy;
  /** Verifies bearer tokens. */
  readonly verifier: TokenVerifier;
  /** Needed when the policy has signed methods. */
  readonly signatures?: {
    readonly challenges: ChallengeStore;
    readonly resolveManager: KeyManagerResolver;
  };
}

/** Maps a security refusal (a `DomainError` of kind unauthenticated/permission-denied) onto a `ConnectError`. */
export function securityConnectError(error: unknown): unknown {
  if (error instanceof DomainError) {
    if (error.kind === "unauthenticated") return new ConnectError(error.message, Code.Unauthenticated);
    if (error.kind === "permission-denied") return new ConnectError(error.message, Code.PermissionDenied);
  }
  return error;
}

const BEARER = /^Bearer +([A-Za-z0-9_.~+/-]+=*)$/;

/**
 * Builds the interceptor. Install it on the server (`connectNodeAdapter({ routes, interceptors: [auth] })`).
 *
 * @example
 * ```ts
 * import { connectNodeAdapter } from "@connectrpc/connect-node";
 * import * as http2 from "node:http2";
 * import { createAuthInterceptor } from "./interceptor.ts";
 * import { ChallengeStore } from "./challenges.ts";
 * import { generateEd25519 } from "./keys.ts";
 * import { JwtVerifier } from "./jwt.ts";
 * const key = await generateEd25519();
 * const auth = createAuthInterceptor({
 *   policy: { roles: { "example.v1.GreeterService/*": ["user"] }, signed: ["dendrite.security.v1.ConfigService/*"] },
 *   verifier: new JwtVerifier({ issuer: "dendrite", audience: "dendrite-api", resolveKey: () => key.publicKey }),
 *   signatures: { challenges: new ChallengeStore(), resolveManager: () => undefined },
 * });
 * http2.createServer(connectNodeAdapter({ routes: () => {}, interceptors: [auth] }));
 * // In a handler: `context.values.get(claimsKey)` are the caller's claims.
 * ```
 */
export function createAuthInterceptor(options: AuthInterceptorOptions): Interceptor {
  if (options.policy.signed?.length && !options.signatures) {
    throw new TypeError("The policy has signed methods but no signature verification was configured");
  }
  return (next) => async (request) => {
    const method = `${request.service.typeName}/${request.method.name}`;
    try {
      const rule = ruleFor(options.policy, method);
      const authorization = request.header.get("authorization");
      let claims: Claims | undefined;
      if (authorization !== null) {
        const match = BEARER.exec(authorization);
        if (!match) {
          throw new ConnectError("The authorization header is not a bearer token", Code.Unauthenticated);
        }
        claims = await options.verifier.verify(match[1]);
        request.contextValues.set(claimsKey, claims);
      }
      switch (rule.kind) {
        case "public":
          break;
        case "deny":
          throw new ConnectError(`No access policy allows "${method}"`, Code.PermissionDenied);
        case "roles":
          if (!claims) throw new ConnectError("This call needs a bearer token", Code.Unauthenticated);
          if (rule.roles.length > 0 && !rule.roles.some((role) => claims.roles.includes(role))) {
            throw new ConnectError(
              `This call needs role ${rule.roles.map((r) => `"${r}"`).join(" or ")}`,
              Code.PermissionDenied,
            );
          }
          break;
        case "signed": {
          const signatures = options.signatures!;
          if (request.stream || !signatureField(request.method.input)) {
            throw new ConnectError(`"${method}" cannot be a signed method`, Code.Internal);
          }
          const signer = await verifySignedRequest(
            request.method.input,
            request.message,
            method,
            signatures.challenges,
            signatures.resolveManager,
          );
          request.contextValues.set(signerKey, signer);
          break;
        }
      }
    } catch (error) {
      throw securityConnectError(error);
    }
    return await next(request);
  };
}
