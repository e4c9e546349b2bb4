/**
 * The security domain's aggregates: one per key (trusted key and/or key manager), one per credential, one per
 * configuration property. Ids are prefixed (`security.key:`…) so they never collide with other aggregates in the
 * same event store. Every command carries the signed request that authorised it (an `Authorization`) and every
 * event copies it, so the security model can verify each event when it is rebuilt.
 *
 * The aggregates only validate: whether a key is trusted or a credential exists is decided by the verified
 * security model (the services check it before sending a command), never by an aggregate's own stream, because
 * anyone who can write to the event store can append to that stream.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { defineAggregate, DomainError } from "../../dendrite/mod.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import type { Authorization } from "../../gen/dendrite/security/v1/signature_pb.ts";
import { propertyProblem } from "./properties.ts";

/** Domain error codes of the security domain. */
export const SecurityDomainErrors = {
  NOT_FOUND: "SEC101",
  INVALID: "SEC102",
} as const;

/** Aggregate id of a key. */
export const keyAggregateId = (keyId: string) => `security.key:${keyId}`;
/** Aggregate id of a credential. */
export const credentialAggregateId = (identifier: string) => `security.credential:${identifier}`;
/** Aggregate id of a property. */
export const propertyAggregateId = (name: string) => `security.property:${name}`;

function invalid(message: string) {
  return new DomainError(SecurityDomainErrors.INVALID, message, { kind: "invalid-argument" });
}

function keyFields(
  command: { keyId: string; name: string; publicKey: Uint8Array; authorization?: Authorization },
) {
  return {
    keyId: command.keyId,
    name: command.name,
    publicKey: command.publicKey,
    authorization: command.authorization,
  };
}

/** Why a command is refused before anything else: it does not carry a signed request. */
function unauthorised(command: { authorization?: Authorization }): DomainError | undefined {
  return command.authorization?.signature
    ? undefined
    : invalid("A security change needs the signed request that authorised it");
}

/** A public key: trusted to sign JWTs, a key manager, both or (after removals) neither. */
export const KeyAggregate = defineAggregate({
  type: "dendrite.security.v1.Key",
  commands: [
    domain.RegisterTrustedKeyCommandSchema,
    domain.RemoveTrustedKeyCommandSchema,
    domain.RegisterKeyManagerCommandSchema,
    domain.RemoveKeyManagerCommandSchema,
  ],
  events: [
    domain.TrustedKeyAddedEventSchema,
    domain.TrustedKeyRemovedEventSchema,
    domain.KeyManagerAddedEventSchema,
    domain.KeyManagerRemovedEventSchema,
  ],
  initialState: () => undefined,
  aggregateId: (command) => command.keyId === "" ? "" : keyAggregateId(command.keyId),

  decide(command) {
    const refused = unauthorised(command);
    if (refused) return refused;
    const { keyId, authorization } = command;
    switch (command.$typeName) {
      case "dendrite.security.v1.RegisterTrustedKeyCommand":
        if (command.publicKey.length !== 32) return invalid("An Ed25519 public key has 32 bytes");
        return create(domain.TrustedKeyAddedEventSchema, keyFields(command));
      case "dendrite.security.v1.RemoveTrustedKeyCommand":
        return create(domain.TrustedKeyRemovedEventSchema, { keyId, authorization });
      case "dendrite.security.v1.RegisterKeyManagerCommand":
        if (command.publicKey.length !== 32) return invalid("An Ed25519 public key has 32 bytes");
        return create(domain.KeyManagerAddedEventSchema, keyFields(command));
      case "dendrite.security.v1.RemoveKeyManagerCommand":
        return create(domain.KeyManagerRemovedEventSchema, { keyId, authorization });
    }
  },

  evolve: () => undefined,
});

const IDENTIFIER = /^[^\s,\p{Cc}]{1,128}$/u;
const ROLE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Why an identifier is refused, if it is. */
export function identifierProblem(identifier: string): string | undefined {
  return IDENTIFIER.test(identifier)
    ? undefined
    : "An identifier has 1 to 128 characters, without spaces, commas or control characters";
}

/** Why a role list is refused, if it is (roles travel comma-separated in metadata). */
export function rolesProblem(roles: readonly string[]): string | undefined {
  const bad = roles.find((role) => !ROLE.test(role));
  return bad === undefined ? undefined : `Role "${bad.slice(0, 64)}" is not valid (letters, digits, _ . -)`;
}

/** The roles a credential keeps: without duplicates, sorted. */
export function normalRoles(roles: readonly string[]): string[] {
  return [...new Set(roles)].sort();
}

/** A credential: an scrypt hash (never a password) and roles. */
export const CredentialAggregate = defineAggregate({
  type: "dendrite.security.v1.Credential",
  commands: [domain.RegisterCredentialsCommandSchema, domain.RemoveCredentialsCommandSchema],
  events: [domain.CredentialsAddedEventSchema, domain.CredentialsRemovedEventSchema],
  initialState: () => undefined,
  aggregateId: (command) => command.identifier === "" ? "" : credentialAggregateId(command.identifier),

  decide(command) {
    const refused = unauthorised(command);
    if (refused) return refused;
    const { identifier, authorization } = command;
    switch (command.$typeName) {
      case "dendrite.security.v1.RegisterCredentialsCommand": {
        const problem = identifierProblem(identifier) ?? rolesProblem(command.roles);
        if (problem) return invalid(problem);
        if (!command.passwordHash.startsWith("scrypt$")) return invalid("Credentials need an scrypt hash");
        return create(domain.CredentialsAddedEventSchema, {
          identifier,
          passwordHash: command.passwordHash,
          roles: normalRoles(command.roles),
          authorization,
        });
      }
      case "dendrite.security.v1.RemoveCredentialsCommand":
        return create(domain.CredentialsRemovedEventSchema, { identifier, authorization });
    }
  },

  evolve: () => undefined,
});

/** A configuration property's value ("" = the default). */
export const PropertyAggregate = defineAggregate({
  type: "dendrite.security.v1.Property",
  commands: [domain.ChangePropertyCommandSchema],
  events: [domain.PropertyChangedEventSchema],
  initialState: () => undefined,
  aggregateId: (command) => command.name === "" ? "" : propertyAggregateId(command.name),

  decide(command) {
    const problem = unauthorised(command)?.message ?? propertyProblem(command.name, command.value);
    if (problem) return invalid(problem);
    const { name, value, authorization } = command;
    return create(domain.PropertyChangedEventSchema, { name, value, authorization });
  },

  evolve: () => undefined,
});
