/**
 * dendrite's security building blocks, free of any domain: EdDSA JWTs with an explicit algorithm list, claims
 * into message metadata, a connect-es auth interceptor driven by a per-method policy, scrypt password hashes,
 * challenge-bound Ed25519 signed requests, Ed25519 keys and TLS files.
 *
 * @example
 * ```ts ignore
 * import { createAuthInterceptor, JwtVerifier, metadataFromClaims, claimsKey } from "./mod.ts";
 * const auth = createAuthInterceptor({ policy, verifier: new JwtVerifier({ issuer, audience, resolveKey }) });
 * // handler: commandBus.dispatch(command, { metadata: metadataFromClaims(context.values.get(claimsKey)) });
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./keys.ts";
export * from "./password.ts";
export * from "./jwt.ts";
export * from "./claims.ts";
export * from "./policy.ts";
export * from "./challenges.ts";
export * from "./signed_request.ts";
export * from "./interceptor.ts";
export * from "./throttle.ts";
export * from "./work_limit.ts";
export * from "./tls.ts";
export * from "./logger.ts";
