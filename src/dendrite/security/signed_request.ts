/**
 * Challenge-bound signed requests: a key manager signs a fresh server nonce AND the request content, so a
 * signature cannot be replayed (the nonce is consumed on first use and expires) nor moved onto another request
 * or method (the content and the method name are signed).
 *
 * Signed bytes (each part prefixed with its length, 4 bytes big-endian):
 * `"dendrite.security.v1.signed-request"`, the full method name, the nonce, and the request's protobuf binary
 * with its `signature` field cleared and without unknown fields.
 *
 * @module
 */
import { clone, type DescMessage, type Message, toBinary } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  type Authorization,
  AuthorizationSchema,
  type Signature,
  SignatureSchema,
} from "../../gen/dendrite/security/v1/signature_pb.ts";
import type { ChallengeStore } from "./challenges.ts";
import { UnauthenticatedError } from "./errors.ts";
import { type Ed25519KeyPair, signEd25519, verifyEd25519 } from "./keys.ts";

const DOMAIN = new TextEncoder().encode("dendrite.security.v1.signed-request");

/** The name of the field that carries a request's {@link Signature}. */
export const SIGNATURE_FIELD = "signature";

/** A message schema with a `signature` field of type `dendrite.security.v1.Signature`. */
export function signatureField(schema: DescMessage) {
  const field = schema.fields.find((f) => f.name === SIGNATURE_FIELD);
  return field?.fieldKind === "message" && field.message.typeName === SignatureSchema.typeName
    ? field
    : undefined;
}

function lengthPrefixed(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/**
 * The bytes a key manager signs for `message` sent to `methodName` (e.g.
 * `dendrite.security.v1.KeyService/AddTrustedKey`) under `nonce`.
 */
export function signedBytes<S extends DescMessage>(
  schema: S,
  message: Message,
  methodName: string,
  nonce: Uint8Array,
): Uint8Array {
  return contentBytes(methodName, nonce, signedContent(schema, message));
}

/** The signed content of a request: its protobuf binary with `signature` cleared and no unknown fields. */
export function signedContent<S extends DescMessage>(schema: S, message: Message): Uint8Array {
  const field = signatureField(schema);
  if (!field) throw new TypeError(`"${schema.typeName}" has no signature field`);
  const copy = clone(schema, message as never) as Message & Record<string, unknown>;
  copy[field.localName] = undefined;
  return toBinary(schema, copy as never, { writeUnknownFields: false });
}

function contentBytes(methodName: string, nonce: Uint8Array, content: Uint8Array): Uint8Array {
  return lengthPrefixed([DOMAIN, new TextEncoder().encode(methodName), nonce, content]);
}

/**
 * Signs a request in place (sets its `signature` field) with a key manager's key under a server nonce.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { signRequest } from "./signed_request.ts";
 * import { ChallengeStore } from "./challenges.ts";
 * import { generateEd25519 } from "./keys.ts";
 * import { SetPropertyRequestSchema } from "../../gen/dendrite/security/v1/config_pb.ts";
 * const manager = await generateEd25519();
 * const { nonce } = new ChallengeStore().issue(); // a client gets it from the server's challenge call
 * const request = create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "600" });
 * await signRequest(SetPropertyRequestSchema, request, "dendrite.security.v1.ConfigService/SetProperty", nonce, manager);
 * ```
 */
export async function signRequest<S extends DescMessage>(
  schema: S,
  message: Message,
  methodName: string,
  nonce: Uint8Array,
  key: Pick<Ed25519KeyPair, "keyId" | "privateKey">,
): Promise<void> {
  const field = signatureField(schema);
  if (!field) throw new TypeError(`"${schema.typeName}" has no signature field`);
  const signature = await signEd25519(key.privateKey, signedBytes(schema, message, methodName, nonce));
  (message as Message & Record<string, unknown>)[field.localName] = create(SignatureSchema, {
    keyId: key.keyId,
    nonce,
    signature,
  });
}

/**
 * Finds a key manager's public key by key id; undefined when the key is not a key manager.
 *
 * @example
 * ```ts
 * import { ChallengeStore, createAuthInterceptor, generateEd25519, JwtVerifier } from "./mod.ts";
 * import type { KeyManagerResolver } from "./mod.ts";
 * const manager = await generateEd25519();
 * // The trusted key managers (from the security model in a real server):
 * const resolveManager: KeyManagerResolver = (keyId) =>
 *   keyId === manager.keyId ? manager.publicKey : undefined;
 * const auth = createAuthInterceptor({
 *   policy: { signed: ["dendrite.security.v1.KeyService/*"] },
 *   verifier: new JwtVerifier({ issuer: "i", audience: "a", resolveKey: () => undefined }),
 *   signatures: { challenges: new ChallengeStore(), resolveManager },
 * });
 * ```
 */
export type KeyManagerResolver = (keyId: string) => CryptoKey | undefined | Promise<CryptoKey | undefined>;

/**
 * Who signed a request.
 *
 * @example
 * ```ts
 * import type { HandlerContext } from "@connectrpc/connect";
 * import { type Signer, signerKey } from "./mod.ts";
 * // In the handler of a signed method: which key manager signed the request.
 * const signer = (context: HandlerContext): Signer | undefined => context.values.get(signerKey);
 * ```
 */
export interface Signer {
  /** The signer's key id. */
  readonly keyId: string;
}

/**
 * Verifies a signed request: the nonce must be current and unused, the signer a key manager, and the signature
 * must cover this method, this nonce and this content; then the nonce is consumed. Throws an
 * {@link UnauthenticatedError} otherwise.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { signRequest, verifySignedRequest } from "./signed_request.ts";
 * import { ChallengeStore } from "./challenges.ts";
 * import { generateEd25519 } from "./keys.ts";
 * import { SetPropertyRequestSchema } from "../../gen/dendrite/security/v1/config_pb.ts";
 * const method = "dendrite.security.v1.ConfigService/SetProperty";
 * const manager = await generateEd25519();
 * const challenges = new ChallengeStore();
 * const request = create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "600" });
 * await signRequest(SetPropertyRequestSchema, request, method, challenges.issue().nonce, manager);
 * const signer = await verifySignedRequest(SetPropertyRequestSchema, request, method, challenges, (keyId) =>
 *   keyId === manager.keyId ? manager.publicKey : undefined);
 * console.log(signer.keyId === manager.keyId); // true
 * ```
 */
export async function verifySignedRequest<S extends DescMessage>(
  schema: S,
  message: Message,
  methodName: string,
  challenges: ChallengeStore,
  resolveManager: KeyManagerResolver,
): Promise<Signer> {
  const field = signatureField(schema);
  if (!field) throw new TypeError(`"${schema.typeName}" has no signature field`);
  const signature = (message as Message & Record<string, unknown>)[field.localName] as Signature | undefined;
  if (!signature || signature.nonce.length === 0 || signature.signature.length === 0) {
    throw new UnauthenticatedError("This request must be signed by a key manager");
  }
  const stale = () => new UnauthenticatedError("The challenge is unknown, used or expired; get a new one");
  if (!challenges.check(signature.nonce)) throw stale();
  const key = await resolveManager(signature.keyId);
  if (!key) throw new UnauthenticatedError("The request is not signed by a key manager");
  const valid = await verifyEd25519(
    key,
    signature.signature,
    signedBytes(schema, message, methodName, signature.nonce),
  );
  if (!valid) throw new UnauthenticatedError("The signature does not match the request");
  // Taken only now, in one synchronous step: of two copies of one signed request, exactly one passes.
  if (!challenges.consume(signature.nonce)) throw stale();
  return { keyId: signature.keyId };
}

/**
 * The {@link Authorization} a verified signed request gives the change it causes: the method, the signed
 * content and the signature. Stored in the event, it lets anyone verify the event again later.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { authorizationOf } from "./signed_request.ts";
 * import { SetPropertyRequestSchema } from "../../gen/dendrite/security/v1/config_pb.ts";
 * const request = create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "600" });
 * const authorization = authorizationOf(SetPropertyRequestSchema, request, "dendrite.security.v1.ConfigService/SetProperty");
 * ```
 */
export function authorizationOf<S extends DescMessage>(
  schema: S,
  message: Message,
  methodName: string,
): Authorization {
  const field = signatureField(schema);
  if (!field) throw new TypeError(`"${schema.typeName}" has no signature field`);
  const signature = (message as Message & Record<string, unknown>)[field.localName] as Signature | undefined;
  if (!signature) throw new TypeError("The request is not signed");
  return create(AuthorizationSchema, {
    method: methodName,
    request: signedContent(schema, message),
    signature,
  });
}

/**
 * Checks an {@link Authorization} against the key managers of the moment (no nonce check: the caller decides
 * about replays). Returns the signer, or why it does not verify.
 *
 * @example
 * ```ts
 * import { verifyAuthorization } from "./signed_request.ts";
 * const outcome = await verifyAuthorization(undefined, () => undefined);
 * console.log(outcome); // { problem: "unsigned" }
 * ```
 */
export async function verifyAuthorization(
  authorization: Authorization | undefined,
  resolveManager: KeyManagerResolver,
): Promise<Signer | { readonly problem: string }> {
  const signature = authorization?.signature;
  if (!authorization || !signature) return { problem: "unsigned" };
  const key = await resolveManager(signature.keyId);
  if (!key) return { problem: `signer ${signature.keyId} is not a key manager at this point` };
  const bytes = contentBytes(authorization.method, signature.nonce, authorization.request);
  return await verifyEd25519(key, signature.signature, bytes)
    ? { keyId: signature.keyId }
    : { problem: "the signature does not match the content" };
}
