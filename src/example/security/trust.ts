/**
 * Trust at rebuild: every security event must carry the signed request that authorised it (its
 * `Authorization`), signed by a key manager trusted AT THAT POINT of the history (the compiled-in root key, or
 * a key manager added by an earlier verified event and not removed since), under a nonce no earlier event used,
 * and the event must be exactly the change that request asks for. So whoever can append to the event store
 * (e.g. anyone who reaches an Axon server's port) cannot add trust: an event that does not verify is ignored,
 * logged and listed.
 *
 * @module
 */
import { clone, create, type DescMessage, equals, fromBinary, type Message } from "@bufbuild/protobuf";
import { keyIdOf, type KeyManagerResolver, verifyAuthorization } from "../../dendrite/security/mod.ts";
import { ConfigService } from "../../gen/dendrite/security/v1/config_pb.ts";
import { CredentialService } from "../../gen/dendrite/security/v1/credentials_pb.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import { KeyService } from "../../gen/dendrite/security/v1/keys_pb.ts";
import type { Authorization } from "../../gen/dendrite/security/v1/signature_pb.ts";
import { normalRoles } from "./aggregates.ts";

/** A security event of the model. */
export type SecurityEvent =
  | domain.TrustedKeyAddedEvent
  | domain.TrustedKeyRemovedEvent
  | domain.KeyManagerAddedEvent
  | domain.KeyManagerRemovedEvent
  | domain.CredentialsAddedEvent
  | domain.CredentialsRemovedEvent
  | domain.PropertyChangedEvent;

/** A security event the model ignored, and why. */
export interface RejectedEvent {
  /** The event's global position (tracking token), when known. */
  readonly token?: number;
  /** Its payload type, e.g. `dendrite.security.v1.TrustedKeyAddedEvent`. */
  readonly type: string;
  readonly aggregateId?: string;
  /** The key id named as signer, when there is one. */
  readonly signer?: string;
  /** Why it was ignored (no secret in it). */
  readonly reason: string;
}

/** The reason given for an event without an authorization (e.g. written by a version before signed events). */
export const UNSIGNED = "unsigned";

const EVENT_SCHEMAS: Record<SecurityEvent["$typeName"], DescMessage> = {
  "dendrite.security.v1.TrustedKeyAddedEvent": domain.TrustedKeyAddedEventSchema,
  "dendrite.security.v1.TrustedKeyRemovedEvent": domain.TrustedKeyRemovedEventSchema,
  "dendrite.security.v1.KeyManagerAddedEvent": domain.KeyManagerAddedEventSchema,
  "dendrite.security.v1.KeyManagerRemovedEvent": domain.KeyManagerRemovedEventSchema,
  "dendrite.security.v1.CredentialsAddedEvent": domain.CredentialsAddedEventSchema,
  "dendrite.security.v1.CredentialsRemovedEvent": domain.CredentialsRemovedEventSchema,
  "dendrite.security.v1.PropertyChangedEvent": domain.PropertyChangedEventSchema,
};

const name = (method: { parent: { typeName: string }; name: string }) =>
  `${method.parent.typeName}/${method.name}`;

/**
 * The event (without its authorization) that a signed request asks for, or undefined when the method leads to
 * no security event.
 */
export async function requestedEvent(authorization: Authorization): Promise<Message | undefined> {
  const bytes = authorization.request;
  const k = KeyService.method;
  switch (authorization.method) {
    case name(k.addTrustedKey): {
      const { name, publicKey } = fromBinary(k.addTrustedKey.input, bytes);
      const keyId = await keyIdOf(publicKey);
      return create(domain.TrustedKeyAddedEventSchema, { keyId, name, publicKey });
    }
    case name(k.removeTrustedKey):
      return create(domain.TrustedKeyRemovedEventSchema, {
        keyId: fromBinary(k.removeTrustedKey.input, bytes).keyId,
      });
    case name(k.addKeyManager): {
      const { name, publicKey } = fromBinary(k.addKeyManager.input, bytes);
      const keyId = await keyIdOf(publicKey);
      return create(domain.KeyManagerAddedEventSchema, { keyId, name, publicKey });
    }
    case name(k.removeKeyManager):
      return create(domain.KeyManagerRemovedEventSchema, {
        keyId: fromBinary(k.removeKeyManager.input, bytes).keyId,
      });
    case name(CredentialService.method.registerCredential): {
      const r = fromBinary(CredentialService.method.registerCredential.input, bytes);
      return create(domain.CredentialsAddedEventSchema, {
        identifier: r.identifier,
        passwordHash: r.passwordHash,
        roles: normalRoles(r.roles),
      });
    }
    case name(CredentialService.method.removeCredential): {
      const { identifier } = fromBinary(CredentialService.method.removeCredential.input, bytes);
      return create(domain.CredentialsRemovedEventSchema, { identifier });
    }
    case name(ConfigService.method.setProperty): {
      const { name, value } = fromBinary(ConfigService.method.setProperty.input, bytes);
      return create(domain.PropertyChangedEventSchema, { name, value });
    }
    default:
      return undefined;
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Verifies events in history order. It remembers the nonces of the events it accepted, so a copy of an earlier
 * signed event appended again (a replay, e.g. to re-add a key removed since) is refused.
 */
export class TrustVerifier {
  readonly #usedNonces = new Set<string>();

  /** Forgets the nonces (the model is rebuilt from the first event). */
  reset(): void {
    this.#usedNonces.clear();
  }

  /**
   * Why `event` must be ignored, or undefined when it verifies against the key managers of this point of the
   * history (`resolveManager`). An accepted event's nonce is remembered.
   */
  async problem(event: SecurityEvent, resolveManager: KeyManagerResolver): Promise<string | undefined> {
    const authorization = event.authorization;
    if (!authorization?.signature) return UNSIGNED;
    const signer = await verifyAuthorization(authorization, resolveManager);
    if ("problem" in signer) return signer.problem;
    let requested: Message | undefined;
    try {
      requested = await requestedEvent(authorization);
    } catch {
      return "the signed request cannot be read";
    }
    if (!requested) return `method ${authorization.method} changes no security state`;
    const schema = EVENT_SCHEMAS[event.$typeName];
    const bare = clone(schema, event as never) as Message & { authorization?: Authorization };
    bare.authorization = undefined;
    if (requested.$typeName !== event.$typeName || !equals(schema, requested as never, bare as never)) {
      return "the event is not the change its signed request asks for";
    }
    const nonce = hex(authorization.signature.nonce);
    if (this.#usedNonces.has(nonce)) return "replayed: an earlier event used the same signed request";
    this.#usedNonces.add(nonce);
    return undefined;
  }
}
