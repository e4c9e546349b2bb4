/**
 * dendrite's security building blocks, free of any domain: EdDSA JWTs with an explicit algorithm list, claims
 * into message metadata, a connect-es auth interceptor driven by a per-method policy, scrypt password hashes,
 * challenge-bound Ed25519 signed requests, Ed25519 keys, login back-off and work limits.
 *
 * @example
 * ```ts
 * import { claimsKey, createAuthInterceptor, generateEd25519, JwtVerifier, metadataFromClaims } from "./mod.ts";
 * import { createContextValues } from "@connectrpc/connect";
 * const key = await generateEd25519();
 * const verifier = new JwtVerifier({
 *   issuer: "dendrite",
 *   audience: "dendrite-api",
 *   resolveKey: (kid) => kid === key.keyId ? key.publicKey : undefined,
 * });
 * const auth = createAuthInterceptor({ policy: { public: ["example.v1.GreeterService/*"] }, verifier });
 * // In a handler: the caller's claims go into the command's metadata.
 * const metadata = metadataFromClaims(createContextValues().get(claimsKey));
 * ```
 *
 * @module
 */
export { PermissionDeniedError, SecurityErrors, UnauthenticatedError } from "./errors.ts";
export {
  type Ed25519KeyPair,
  exportPrivateKey,
  fromBase64Url,
  fromPem,
  generateEd25519,
  importPrivateKey,
  importPublicKey,
  keyIdOf,
  signEd25519,
  toBase64Url,
  toPem,
  verifyEd25519,
} from "./keys.ts";
export {
  DEFAULT_SCRYPT,
  hashPassword,
  parsePasswordHash,
  type ScryptParams,
  verifyPassword,
} from "./password.ts";
export {
  type Claims,
  type Clock,
  type IssuedToken,
  JWT_ALGORITHMS,
  type JwtAudience,
  JwtIssuer,
  JwtVerifier,
  type JwtVerifierOptions,
  type KeyResolver,
} from "./jwt.ts";
export { metadataFromClaims } from "./claims.ts";
export { type AuthPolicy, mergePolicies, type MethodRule } from "./policy.ts";
export { type Challenge, ChallengeStore, type ChallengeStoreOptions } from "./challenges.ts";
export {
  authorizationOf,
  type KeyManagerResolver,
  type Signer,
  signRequest,
  verifyAuthorization,
  verifySignedRequest,
} from "./signed_request.ts";
export {
  type AuthInterceptorOptions,
  claimsKey,
  createAuthInterceptor,
  peerAddressKey,
  signerKey,
  type TokenVerifier,
} from "./interceptor.ts";
export { BackOff, type BackOffOptions, TooManyAttemptsError } from "./throttle.ts";
export { WorkLimit, type WorkLimitOptions } from "./work_limit.ts";
export { consoleSecurityLogger, type SecurityLogger } from "./logger.ts";
/** The generated messages signed requests carry and produce (`dendrite.security.v1`). */
export type { Authorization, Signature } from "../../gen/dendrite/security/v1/signature_pb.ts";
