/**
 * The security query model: trusted keys, key managers, credentials and properties, held in memory and rebuilt
 * from the event store at every start (the projection's token store is in memory). Removed entries are deleted,
 * so lists never show them. The compiled-in root key manager is not an event; the model knows it separately
 * and it cannot be removed.
 *
 * @module
 */
import { defineProjection } from "../../dendrite/mod.ts";
import { importPublicKey } from "../../dendrite/security/mod.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import { KNOWN_PROPERTIES } from "./properties.ts";

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

  clear(): void {
    this.trustedKeys.clear();
    this.keyManagers.clear();
    this.credentials.clear();
    this.properties.clear();
  }
}

/** The projection that keeps a {@link SecurityModel} up to date. */
export function securityProjection(model: SecurityModel) {
  const entry = async (keyId: string, name: string, raw: Uint8Array): Promise<KeyEntry> => ({
    keyId,
    name,
    publicKeyRaw: raw,
    publicKey: await importPublicKey(raw),
  });
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
    async handle({ payload }) {
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
    },
    reset() {
      model.clear();
      return Promise.resolve();
    },
  });
}
