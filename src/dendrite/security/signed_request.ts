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
import { type Signature, SignatureSchema } from "../../gen/dendrite/security/v1/signature_pb.ts";
import { UnauthenticatedError } from "./errors.ts";
import type { Clock } from "./jwt.ts";
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
  const field = signatureField(schema);
  if (!field) throw new TypeError(`"${schema.typeName}" has no signature field`);
  const copy = clone(schema, message as never) as Message & Record<string, unknown>;
  copy[field.localName] = undefined;
  const body = toBinary(schema, copy as never, { writeUnknownFields: false });
  return lengthPrefixed([DOMAIN, new TextEncoder().encode(methodName), nonce, body]);
}

/**
 * Signs a request in place (sets its `signature` field) with a key manager's key under a server nonce.
 *
 * @example
 * ```ts ignore
 * const { nonce } = await challenges.getChallenge({});
 * const request = create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "600" });
 * await signRequest(SetPropertyRequestSchema, request, "dendrite.security.v1.ConfigService/SetProperty", nonce, manager);
 * await config.setProperty(request);
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

/** A nonce as handed out. */
export interface Challenge {
  readonly nonce: Uint8Array;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface ChallengeStoreOptions {
  /** How long a nonce stays valid (default 60 s). */
  readonly ttlMs?: number;
  /** At most this many outstanding nonces; the oldest is dropped beyond it (default 10 000). */
  readonly capacity?: number;
  readonly clock?: Clock;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Issues single-use nonces and consumes them. Kept in memory: a nonce must be used on the process that issued
 * it.
 *
 * @example
 * ```ts
 * import { ChallengeStore } from "./signed_request.ts";
 * const store = new ChallengeStore({ ttlMs: 30_000 });
 * const { nonce } = store.issue();
 * console.log(store.consume(nonce), store.consume(nonce)); // true false
 * ```
 */
export class ChallengeStore {
  readonly #outstanding = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #capacity: number;
  readonly #clock: Clock;

  constructor(options: ChallengeStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#capacity = options.capacity ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** A fresh 32-byte nonce. */
  issue(): Challenge {
    this.#sweep();
    const nonce = crypto.getRandomValues(new Uint8Array(32));
    const expiresAt = this.#clock() + this.#ttlMs;
    this.#outstanding.set(hex(nonce), expiresAt);
    while (this.#outstanding.size > this.#capacity) {
      this.#outstanding.delete(this.#outstanding.keys().next().value!);
    }
    return { nonce, expiresAt };
  }

  /** Takes a nonce out: true only the first time, and only before it expires. */
  consume(nonce: Uint8Array): boolean {
    const key = hex(nonce);
    const expiresAt = this.#outstanding.get(key);
    if (expiresAt === undefined) return false;
    this.#outstanding.delete(key);
    return this.#clock() <= expiresAt;
  }

  /** How many nonces are outstanding. */
  get size(): number {
    return this.#outstanding.size;
  }

  #sweep(): void {
    const now = this.#clock();
    for (const [key, expiresAt] of this.#outstanding) {
      if (expiresAt < now) this.#outstanding.delete(key);
    }
  }
}

/** Finds a key manager's public key by key id; undefined when the key is not a key manager. */
export type KeyManagerResolver = (keyId: string) => CryptoKey | undefined | Promise<CryptoKey | undefined>;

/** Who signed a request. */
export interface Signer {
  readonly keyId: string;
}

/**
 * Verifies a signed request: the nonce is consumed first (so every attempt burns it), then the signer must be a
 * key manager and the signature must cover this method, this nonce and this content. Throws an
 * {@link UnauthenticatedError} otherwise.
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
  if (!challenges.consume(signature.nonce)) {
    throw new UnauthenticatedError("The challenge is unknown, used or expired; get a new one");
  }
  const key = await resolveManager(signature.keyId);
  if (!key) throw new UnauthenticatedError("The request is not signed by a key manager");
  const valid = await verifyEd25519(
    key,
    signature.signature,
    signedBytes(schema, message, methodName, signature.nonce),
  );
  if (!valid) throw new UnauthenticatedError("The signature does not match the request");
  return { keyId: signature.keyId };
}
