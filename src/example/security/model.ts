/**
 * The security query model: trusted keys, key managers, credentials and properties, held in memory and rebuilt
 * from the event store at every start (the projection's token store is in memory). Removed entries are deleted,
 * so lists never show them. The compiled-in root key manager is not an event; the model knows it separately
 * and it cannot be removed. Every event is verified first (see `trust.ts`): one that does not verify against
 * the key managers of its point in the history is ignored, logged and kept in {@link SecurityModel.rejected}.
 *
 * @module
 */
import { defineProjection } from "../../dendrite/mod.ts";
import { importPublicKey, type SecurityLogger } from "../../dendrite/security/mod.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import { KNOWN_PROPERTIES } from "./properties.ts";
import { type RejectedEvent, type SecurityEvent, TrustVerifier } from "./trust.ts";

/** At most this many rejected events are listed (the count goes on). */
export const MAX_LISTED_REJECTIONS = 1_000;

/** The security events the model ignored: how many, and the first {@link MAX_LISTED_REJECTIONS} of them. */
export interface Rejections {
  readonly count: number;
  readonly events: readonly RejectedEvent[];
}

/** A key as the model keeps it. */
export interface KeyEntry {
  readonly keyId: string;
  readonly name: string;
  readonly publicKeyRaw: Uint8Array;
  readonly publicKey: CryptoKey;
}

/** A credential as the model keeps it. */
export interface CredentialEntry {
  readonly identifier: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
}

/** The projection's processor name. */
export const SECURITY_PROJECTION = "dendrite.security-projection";

/**
 * The in-memory model.
 *
 * @example
 * ```ts ignore
 * const model = new SecurityModel(rootEntry);
 * model.keyManager(keyId); // the root key or a registered manager
 * ```
 */
export class SecurityModel {
  readonly root: KeyEntry;
  readonly trustedKeys = new Map<string, KeyEntry>();
  readonly keyManagers = new Map<string, KeyEntry>();
  readonly credentials = new Map<string, CredentialEntry>();
  readonly properties = new Map<string, string>();
  /** How many security events verified and were applied. */
  accepted = 0;
  readonly #rejected: RejectedEvent[] = [];
  #rejectedCount = 0;

  constructor(root: KeyEntry) {
    this.root = root;
  }

  /** A key manager's public key (the root key included), or undefined. */
  keyManager(keyId: string): CryptoKey | undefined {
    return keyId === this.root.keyId ? this.root.publicKey : this.keyManagers.get(keyId)?.publicKey;
  }

  /** A trusted JWT signer's public key, or undefined. */
  trustedKey(keyId: string): CryptoKey | undefined {
    return this.trustedKeys.get(keyId)?.publicKey;
  }

  /** A property's effective value: the one set, else the known default, else "". */
  property(name: string): string {
    return this.properties.get(name) ?? KNOWN_PROPERTIES[name]?.defaultValue ?? "";
  }

  /** The security events that did not verify (ignored). */
  rejected(): Rejections {
    return { count: this.#rejectedCount, events: [...this.#rejected] };
  }

  /** How many security events were ignored so far. */
  get rejectedCount(): number {
    return this.#rejectedCount;
  }

  /** Records an ignored event. */
  reject(event: RejectedEvent): void {
    this.#rejectedCount++;
    if (this.#rejected.length < MAX_LISTED_REJECTIONS) this.#rejected.push(event);
  }

  clear(): void {
    this.accepted = 0;
    this.#rejected.length = 0;
    this.#rejectedCount = 0;
    this.trustedKeys.clear();
    this.keyManagers.clear();
    this.credentials.clear();
    this.properties.clear();
  }
}

/** The projection that keeps a {@link SecurityModel} up to date, verifying each event first. */
export function securityProjection(model: SecurityModel, logger: SecurityLogger) {
  const trust = new TrustVerifier();
  return defineProjection({
    name: SECURITY_PROJECTION,
    events: [
      domain.TrustedKeyAddedEventSchema,
      domain.TrustedKeyRemovedEventSchema,
      domain.KeyManagerAddedEventSchema,
      domain.KeyManagerRemovedEventSchema,
      domain.CredentialsAddedEventSchema,
      domain.CredentialsRemovedEventSchema,
      domain.PropertyChangedEventSchema,
    ],
    async handle({ payload, token, aggregate }) {
      const reason = await trust.problem(payload, (keyId) => model.keyManager(keyId));
      if (reason === undefined) {
        model.accepted++;
        return await apply(model, payload);
      }
      // Whoever appended the event chose these strings: they are kept short.
      const rejected: RejectedEvent = {
        token,
        type: payload.$typeName,
        aggregateId: aggregate?.id.slice(0, 200),
        signer: payload.authorization?.signature?.keyId.slice(0, 100) || undefined,
        reason: reason.slice(0, 300),
      };
      model.reject(rejected);
      const count = model.rejectedCount;
      // Each one is logged up to the listed maximum, then every thousandth: appending cannot flood the log.
      if (count > MAX_LISTED_REJECTIONS && count % 1_000 !== 0) return;
      logger.warn("Security event ignored: it does not verify", {
        ignoredSoFar: count,
        token: token ?? -1,
        type: rejected.type,
        aggregateId: rejected.aggregateId ?? "",
        signer: rejected.signer ?? "",
        reason: rejected.reason,
      });
    },
    reset() {
      model.clear();
      trust.reset();
      return Promise.resolve();
    },
  });
}

async function entry(keyId: string, name: string, raw: Uint8Array): Promise<KeyEntry> {
  return { keyId, name, publicKeyRaw: raw, publicKey: await importPublicKey(raw) };
}

async function apply(model: SecurityModel, payload: SecurityEvent): Promise<void> {
  switch (payload.$typeName) {
    case "dendrite.security.v1.TrustedKeyAddedEvent":
      model.trustedKeys.set(payload.keyId, await entry(payload.keyId, payload.name, payload.publicKey));
      return;
    case "dendrite.security.v1.TrustedKeyRemovedEvent":
      model.trustedKeys.delete(payload.keyId);
      return;
    case "dendrite.security.v1.KeyManagerAddedEvent":
      model.keyManagers.set(payload.keyId, await entry(payload.keyId, payload.name, payload.publicKey));
      return;
    case "dendrite.security.v1.KeyManagerRemovedEvent":
      model.keyManagers.delete(payload.keyId);
      return;
    case "dendrite.security.v1.CredentialsAddedEvent":
      model.credentials.set(payload.identifier, {
        identifier: payload.identifier,
        passwordHash: payload.passwordHash,
        roles: payload.roles,
      });
      return;
    case "dendrite.security.v1.CredentialsRemovedEvent":
      model.credentials.delete(payload.identifier);
      return;
    case "dendrite.security.v1.PropertyChangedEvent":
      if (payload.value === "") model.properties.delete(payload.name);
      else model.properties.set(payload.name, payload.value);
      return;
  }
}
