import { create } from "@bufbuild/protobuf";
import { aggregateSpec } from "../../dendrite/testing/mod.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import { CredentialAggregate, KeyAggregate, PropertyAggregate, SecurityDomainErrors } from "./aggregates.ts";

const key = { keyId: "k1", name: "deputy", publicKey: new Uint8Array(32).fill(7) };

Deno.test("KeyAggregate adds a key manager once and refuses to remove an absent one", () => {
  aggregateSpec(KeyAggregate).given()
    .when(create(domain.RegisterKeyManagerCommandSchema, key))
    .then(create(domain.KeyManagerAddedEventSchema, key));
  aggregateSpec(KeyAggregate).given(create(domain.KeyManagerAddedEventSchema, key))
    .when(create(domain.RegisterKeyManagerCommandSchema, key))
    .then();
  aggregateSpec(KeyAggregate).given(create(domain.TrustedKeyAddedEventSchema, key))
    .when(create(domain.RemoveKeyManagerCommandSchema, { keyId: "k1" }))
    .thenError(SecurityDomainErrors.NOT_FOUND);
  aggregateSpec(KeyAggregate).given()
    .when(create(domain.RegisterTrustedKeyCommandSchema, { ...key, publicKey: new Uint8Array(31) }))
    .thenError(SecurityDomainErrors.INVALID);
});

Deno.test("CredentialAggregate keeps scrypt hashes only and refuses commas in roles", () => {
  const hash = "scrypt$10$8$1$c2FsdA$aGFzaA";
  aggregateSpec(CredentialAggregate).given()
    .when(
      create(domain.RegisterCredentialsCommandSchema, {
        identifier: "bob",
        passwordHash: "hunter2",
        roles: [],
      }),
    )
    .thenError(SecurityDomainErrors.INVALID, "scrypt");
  aggregateSpec(CredentialAggregate).given()
    .when(
      create(domain.RegisterCredentialsCommandSchema, {
        identifier: "bob",
        passwordHash: hash,
        roles: ["a,b"],
      }),
    )
    .thenError(SecurityDomainErrors.INVALID);
  aggregateSpec(CredentialAggregate).given(
    create(domain.CredentialsAddedEventSchema, { identifier: "bob", passwordHash: hash, roles: ["admin"] }),
    create(domain.CredentialsRemovedEventSchema, { identifier: "bob" }),
  ).when(create(domain.RemoveCredentialsCommandSchema, { identifier: "bob" }))
    .thenError(SecurityDomainErrors.NOT_FOUND);
});

Deno.test("PropertyAggregate validates known properties and ignores no-op changes", () => {
  aggregateSpec(PropertyAggregate).given()
    .when(create(domain.ChangePropertyCommandSchema, { name: "jwt.lifetime.seconds", value: "0" }))
    .thenError(SecurityDomainErrors.INVALID);
  aggregateSpec(PropertyAggregate).given(
    create(domain.PropertyChangedEventSchema, { name: "jwt.lifetime.seconds", value: "60" }),
  ).when(create(domain.ChangePropertyCommandSchema, { name: "jwt.lifetime.seconds", value: "60" })).then();
  aggregateSpec(PropertyAggregate).given()
    .when(create(domain.ChangePropertyCommandSchema, { name: "Bad Name", value: "x" }))
    .thenError(SecurityDomainErrors.INVALID);
});
