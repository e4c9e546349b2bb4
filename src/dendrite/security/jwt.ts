/**
 * JWTs signed with EdDSA (Ed25519) through jose, verified with an explicit algorithm allow-list.
 *
 * Tokens carry `iss`, `aud`, `sub`, `iat`, `exp`, the signing key's id in the header (`kid`) and a `roles`
 * claim. Verification looks the `kid` up among the trusted keys, so removing a key revokes its tokens; an
 * unknown `kid`, another algorithm (`none` included), a bad signature, a wrong issuer or audience, or an expired
 * token are all refused with an {@link UnauthenticatedError}.
 *
 * @module
 */
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { UnauthenticatedError } from "./errors.ts";
import type { Ed25519KeyPair } from "./keys.ts";

/**
 * The only algorithm dendrite signs and accepts.
 *
 * @example
 * ```ts
 * import { JWT_ALGORITHMS } from "./jwt.ts";
 * console.log(JWT_ALGORITHMS); // ["EdDSA"]
 * ```
 */
export const JWT_ALGORITHMS: readonly ["EdDSA"] = ["EdDSA"];

/**
 * What a verified token says about its caller.
 *
 * @example
 * ```ts
 * import { type Claims, metadataFromClaims } from "./mod.ts";
 * const claims: Claims = {
 *   subject: "alice",
 *   roles: ["user"],
 *   issuedAt: 1_700_000_000,
 *   expiresAt: 1_700_000_900,
 *   keyId: "k1",
 * };
 * const isAdmin = claims.roles.includes("admin");
 * const metadata = metadataFromClaims(claims); // the caller's subject and roles for a command
 * ```
 */
export interface Claims {
  /** The caller (`sub`). */
  readonly subject: string;
  /** The caller's roles. */
  readonly roles: readonly string[];
  /** Epoch seconds. */
  readonly issuedAt: number;
  /** Epoch seconds. */
  readonly expiresAt: number;
  /** The signing key's id. */
  readonly keyId: string;
}

/**
 * Who issues tokens for whom.
 *
 * @example
 * ```ts
 * import { generateEd25519, JwtIssuer, type JwtAudience, JwtVerifier } from "./mod.ts";
 * const audience: JwtAudience = { issuer: "dendrite", audience: "dendrite-api" }; // the same on both sides
 * const key = await generateEd25519();
 * const issuer = new JwtIssuer(key, audience);
 * const resolveKey = (kid: string) => kid === key.keyId ? key.publicKey : undefined;
 * const verifier = new JwtVerifier({ ...audience, resolveKey });
 * ```
 */
export interface JwtAudience {
  /** The `iss` of the tokens. */
  readonly issuer: string;
  /** The `aud` of the tokens. */
  readonly audience: string;
}

/**
 * A clock in epoch milliseconds (injectable for tests).
 *
 * @example
 * ```ts
 * import { type Clock, generateEd25519, JwtIssuer } from "./mod.ts";
 * let now = Date.parse("2030-01-01T00:00:00Z");
 * const clock: Clock = () => now; // a test moves `now` by hand
 * const issuer = new JwtIssuer(await generateEd25519(), { issuer: "i", audience: "a" }, clock);
 * const { expiresAt } = await issuer.issue({ subject: "alice", roles: [], lifetimeSeconds: 60 });
 * now = expiresAt; // the token is expired now
 * ```
 */
export type Clock = () => number;

/**
 * An issued token.
 *
 * @example
 * ```ts
 * import { generateEd25519, type IssuedToken, JwtIssuer } from "./mod.ts";
 * const issuer = new JwtIssuer(await generateEd25519(), { issuer: "dendrite", audience: "dendrite-api" });
 * const request = { subject: "alice", roles: ["user"], lifetimeSeconds: 900 };
 * const issued: IssuedToken = await issuer.issue(request);
 * const header = { authorization: `Bearer ${issued.token}` };
 * const renewIn = issued.expiresAt - Date.now() - 60_000; // renew a minute early
 * ```
 */
export interface IssuedToken {
  /** The compact JWT. */
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/**
 * Signs tokens with one Ed25519 key.
 *
 * @example
 * ```ts
 * import { generateEd25519 } from "./keys.ts";
 * import { JwtIssuer } from "./jwt.ts";
 * const issuer = new JwtIssuer(await generateEd25519(), { issuer: "dendrite", audience: "dendrite-api" });
 * const { token } = await issuer.issue({ subject: "alice", roles: ["admin"], lifetimeSeconds: 900 });
 * ```
 */
export class JwtIssuer {
  readonly #key: Ed25519KeyPair;
  readonly #audience: JwtAudience;
  readonly #clock: Clock;

  /** An issuer signing with `key`; `clock` dates the tokens (default Date.now). */
  constructor(key: Ed25519KeyPair, audience: JwtAudience, clock: Clock = Date.now) {
    this.#key = key;
    this.#audience = audience;
    this.#clock = clock;
  }

  /** The `kid` of the tokens this issuer signs. */
  get keyId(): string {
    return this.#key.keyId;
  }

  /** Signs a token for `subject` with `roles`, valid for `lifetimeSeconds`. */
  async issue(request: {
    readonly subject: string;
    readonly roles: readonly string[];
    readonly lifetimeSeconds: number;
  }): Promise<IssuedToken> {
    if (!(Number.isInteger(request.lifetimeSeconds) && request.lifetimeSeconds > 0)) {
      throw new RangeError(
        `Token lifetime must be a positive number of seconds, got ${request.lifetimeSeconds}`,
      );
    }
    const issuedAt = Math.floor(this.#clock() / 1000);
    const expiresAt = issuedAt + request.lifetimeSeconds;
    const token = await new SignJWT({ roles: [...request.roles] })
      .setProtectedHeader({ alg: "EdDSA", typ: "JWT", kid: this.#key.keyId })
      .setIssuer(this.#audience.issuer)
      .setAudience(this.#audience.audience)
      .setSubject(request.subject)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(crypto.randomUUID())
      .sign(this.#key.privateKey);
    return { token, expiresAt: expiresAt * 1000 };
  }
}

/**
 * Finds the public key of a trusted signer by `kid`; undefined when it is not trusted (any more).
 *
 * @example
 * ```ts
 * import { generateEd25519, JwtVerifier, type KeyResolver } from "./mod.ts";
 * const trusted = new Map<string, CryptoKey>();
 * const key = await generateEd25519();
 * trusted.set(key.keyId, key.publicKey);
 * // Removing a key from `trusted` revokes every token it signed:
 * const resolveKey: KeyResolver = (keyId) => trusted.get(keyId);
 * const verifier = new JwtVerifier({ issuer: "dendrite", audience: "dendrite-api", resolveKey });
 * ```
 */
export type KeyResolver = (keyId: string) => CryptoKey | undefined | Promise<CryptoKey | undefined>;

/**
 * Options of {@link JwtVerifier}.
 *
 * @example
 * ```ts
 * import { JwtVerifier, type JwtVerifierOptions } from "./mod.ts";
 * const options: JwtVerifierOptions = {
 *   issuer: "dendrite",
 *   audience: "dendrite-api",
 *   resolveKey: () => undefined, // look the token's kid up among the trusted keys
 *   clockToleranceSeconds: 2,
 * };
 * const verifier = new JwtVerifier(options);
 * ```
 */
export interface JwtVerifierOptions extends JwtAudience {
  /** Finds the public key of a token's `kid`. */
  readonly resolveKey: KeyResolver;
  /** Allowed clock skew in seconds (default 5). */
  readonly clockToleranceSeconds?: number;
  /** The clock expiry is judged by (default Date.now). */
  readonly clock?: Clock;
}

/**
 * Verifies tokens: EdDSA only, the expected issuer and audience, `sub`, `exp` and `iat` required.
 *
 * @example
 * ```ts
 * import { generateEd25519 } from "./keys.ts";
 * import { JwtIssuer, JwtVerifier } from "./jwt.ts";
 * const key = await generateEd25519();
 * const audience = { issuer: "dendrite", audience: "dendrite-api" };
 * const { token } = await new JwtIssuer(key, audience).issue({ subject: "alice", roles: [], lifetimeSeconds: 60 });
 * const verifier = new JwtVerifier({ ...audience, resolveKey: (kid) => kid === key.keyId ? key.publicKey : undefined });
 * const claims = await verifier.verify(token); // or throws UnauthenticatedError
 * console.log(claims.subject); // alice
 * ```
 */
export class JwtVerifier {
  readonly #options: JwtVerifierOptions;

  /** A verifier for tokens of `options.issuer` for `options.audience`. */
  constructor(options: JwtVerifierOptions) {
    this.#options = options;
  }

  /** The token's claims; throws {@link UnauthenticatedError} for a bad, expired or untrusted token. */
  async verify(token: string): Promise<Claims> {
    const clock = this.#options.clock;
    try {
      const { payload, protectedHeader } = await jwtVerify(
        token,
        async (header) => {
          if (header.alg !== "EdDSA") throw new UnauthenticatedError("The token's algorithm is not allowed");
          const kid = header.kid;
          const key = typeof kid === "string" ? await this.#options.resolveKey(kid) : undefined;
          if (!key) throw new UnauthenticatedError("The token's signing key is not trusted");
          return key;
        },
        {
          algorithms: [...JWT_ALGORITHMS],
          issuer: this.#options.issuer,
          audience: this.#options.audience,
          requiredClaims: ["sub", "exp", "iat"],
          clockTolerance: this.#options.clockToleranceSeconds ?? 5,
          currentDate: clock ? new Date(clock()) : undefined,
        },
      );
      const roles = payload.roles;
      if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === "string"))) {
        throw new UnauthenticatedError("The token's roles claim is malformed");
      }
      return {
        subject: payload.sub ?? "",
        roles: roles ?? [],
        issuedAt: payload.iat ?? 0,
        expiresAt: payload.exp ?? 0,
        keyId: protectedHeader.kid ?? "",
      };
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new UnauthenticatedError("The token has expired");
      if (error instanceof joseErrors.JOSEError) {
        throw new UnauthenticatedError(`The token is not valid (${error.code})`);
      }
      throw error;
    }
  }
}
