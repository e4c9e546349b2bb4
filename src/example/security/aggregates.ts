/**
 * The security domain's aggregates: one per key (trusted key and/or key manager), one per credential, one per
 * configuration property. Ids are prefixed (`security.key:`…) so they never collide with other aggregates in the
 * same event store. Changes that change nothing emit no event; removing what is absent is refused (not found).
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { defineAggregate, DomainError } from "../../dendrite/mod.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
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

function notFound(message: string) {
  return new DomainError(SecurityDomainErrors.NOT_FOUND, message, { kind: "not-found" });
}

function invalid(message: string) {
  return new DomainError(SecurityDomainErrors.INVALID, message, { kind: "invalid-argument" });
}

function keyFields(command: { keyId: string; name: string; publicKey: Uint8Array }) {
  return { keyId: command.keyId, name: command.name, publicKey: command.publicKey };
}

interface KeyState {
  readonly trusted: boolean;
  readonly manager: boolean;
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
  initialState: (): KeyState => ({ trusted: false, manager: false }),
  aggregateId: (command) => command.keyId === "" ? "" : keyAggregateId(command.keyId),

  decide(command, state) {
    switch (command.$typeName) {
      case "dendrite.security.v1.RegisterTrustedKeyCommand":
        if (command.publicKey.length !== 32) return invalid("An Ed25519 public key has 32 bytes");
        return state.trusted ? [] : create(domain.TrustedKeyAddedEventSchema, keyFields(command));
      case "dendrite.security.v1.RemoveTrustedKeyCommand":
        return state.trusted
          ? create(domain.TrustedKeyRemovedEventSchema, { keyId: command.keyId })
          : notFound(`Key "${command.keyId}" is not trusted`);
      case "dendrite.security.v1.RegisterKeyManagerCommand":
        if (command.publicKey.length !== 32) return invalid("An Ed25519 public key has 32 bytes");
        return state.manager ? [] : create(domain.KeyManagerAddedEventSchema, keyFields(command));
      case "dendrite.security.v1.RemoveKeyManagerCommand":
        return state.manager
          ? create(domain.KeyManagerRemovedEventSchema, { keyId: command.keyId })
          : notFound(`Key "${command.keyId}" is not a key manager`);
    }
  },

  evolve(state, event) {
    switch (event.$typeName) {
      case "dendrite.security.v1.TrustedKeyAddedEvent":
        return { ...state, trusted: true };
      case "dendrite.security.v1.TrustedKeyRemovedEvent":
        return { ...state, trusted: false };
      case "dendrite.security.v1.KeyManagerAddedEvent":
        return { ...state, manager: true };
      case "dendrite.security.v1.KeyManagerRemovedEvent":
        return { ...state, manager: false };
    }
  },
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

interface CredentialState {
  readonly passwordHash: string;
  readonly roles: readonly string[];
}

/** A credential: an scrypt hash (never a password) and roles. */
export const CredentialAggregate = defineAggregate({
  type: "dendrite.security.v1.Credential",
  commands: [domain.RegisterCredentialsCommandSchema, domain.RemoveCredentialsCommandSchema],
  events: [domain.CredentialsAddedEventSchema, domain.CredentialsRemovedEventSchema],
  initialState: (): CredentialState | undefined => undefined,
  aggregateId: (command) => command.identifier === "" ? "" : credentialAggregateId(command.identifier),

  decide(command, state) {
    switch (command.$typeName) {
      case "dendrite.security.v1.RegisterCredentialsCommand": {
        const problem = identifierProblem(command.identifier) ?? rolesProblem(command.roles);
        if (problem) return invalid(problem);
        if (!command.passwordHash.startsWith("scrypt$")) return invalid("Credentials need an scrypt hash");
        const roles = [...new Set(command.roles)].sort();
        if (state && state.passwordHash === command.passwordHash && state.roles.join() === roles.join()) {
          return [];
        }
        return create(domain.CredentialsAddedEventSchema, {
          identifier: command.identifier,
          passwordHash: command.passwordHash,
          roles,
        });
      }
      case "dendrite.security.v1.RemoveCredentialsCommand":
        return state
          ? create(domain.CredentialsRemovedEventSchema, { identifier: command.identifier })
          : notFound(`No credentials for "${command.identifier}"`);
    }
  },

  evolve(_state, event) {
    switch (event.$typeName) {
      case "dendrite.security.v1.CredentialsAddedEvent":
        return { passwordHash: event.passwordHash, roles: event.roles };
      case "dendrite.security.v1.CredentialsRemovedEvent":
        return undefined;
    }
  },
});

/** A configuration property's value ("" = the default). */
export const PropertyAggregate = defineAggregate({
  type: "dendrite.security.v1.Property",
  commands: [domain.ChangePropertyCommandSchema],
  events: [domain.PropertyChangedEventSchema],
  initialState: () => "",
  aggregateId: (command) => command.name === "" ? "" : propertyAggregateId(command.name),

  decide(command, value) {
    const problem = propertyProblem(command.name, command.value);
    if (problem) return invalid(problem);
    return command.value === value
      ? []
      : create(domain.PropertyChangedEventSchema, { name: command.name, value: command.value });
  },

  evolve: (_value, event) => event.value,
});
