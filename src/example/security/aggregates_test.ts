import { create } from "@bufbuild/protobuf";
import { aggregateSpec } from "../../dendrite/testing/mod.ts";
import * as domain from "../../gen/dendrite/security/v1/domain_pb.ts";
import { AuthorizationSchema, SignatureSchema } from "../../gen/dendrite/security/v1/signature_pb.ts";
import { CredentialAggregate, KeyAggregate, PropertyAggregate, SecurityDomainErrors } from "./aggregates.ts";

const authorization = create(AuthorizationSchema, {
  method: "dendrite.security.v1.KeyService/AddKeyManager",
  request: new Uint8Array([1, 2, 3]),
  signature: create(SignatureSchema, {
    keyId: "root",
    nonce: new Uint8Array(32),
    signature: new Uint8Array(64),
  }),
});
const key = { keyId: "k1", name: "deputy", publicKey: new Uint8Array(32).fill(7), authorization };

Deno.test("KeyAggregate copies the authorization into the event, whatever its own stream holds", () => {
  aggregateSpec(KeyAggregate).given()
    .when(create(domain.RegisterKeyManagerCommandSchema, key))
    .then(create(domain.KeyManagerAddedEventSchema, key));
  // A stream that says "already a manager" (anyone who can append can write that) does not stop the change:
  // the verified model decides, not the stream.
  aggregateSpec(KeyAggregate).given(
    create(domain.KeyManagerAddedEventSchema, { ...key, authorization: undefined }),
  )
    .when(create(domain.RegisterKeyManagerCommandSchema, key))
    .then(create(domain.KeyManagerAddedEventSchema, key));
  aggregateSpec(KeyAggregate).given()
    .when(create(domain.RemoveTrustedKeyCommandSchema, { keyId: "k1", authorization }))
    .then(create(domain.TrustedKeyRemovedEventSchema, { keyId: "k1", authorization }));
  aggregateSpec(KeyAggregate).given()
    .when(create(domain.RegisterTrustedKeyCommandSchema, { ...key, publicKey: new Uint8Array(31) }))
    .thenError(SecurityDomainErrors.INVALID);
});

Deno.test("the security aggregates refuse a change without its signed request", () => {
  aggregateSpec(KeyAggregate).given()
    .when(create(domain.RegisterTrustedKeyCommandSchema, { ...key, authorization: undefined }))
    .thenError(SecurityDomainErrors.INVALID, "signed request");
  aggregateSpec(CredentialAggregate).given()
    .when(create(domain.RemoveCredentialsCommandSchema, { identifier: "bob" }))
    .thenError(SecurityDomainErrors.INVALID, "signed request");
  aggregateSpec(PropertyAggregate).given()
    .when(create(domain.ChangePropertyCommandSchema, { name: "jwt.lifetime.seconds", value: "60" }))
    .thenError(SecurityDomainErrors.INVALID, "signed request");
});

Deno.test("CredentialAggregate keeps scrypt hashes only, sorts roles and refuses commas in roles", () => {
  const hash = "scrypt$10$8$1$c2FsdA$aGFzaA";
  const register = (passwordHash: string, roles: string[]) =>
    create(domain.RegisterCredentialsCommandSchema, {
      identifier: "bob",
      passwordHash,
      roles,
      authorization,
    });
  aggregateSpec(CredentialAggregate).given().when(register("hunter2", [])).thenError(
    SecurityDomainErrors.INVALID,
    "scrypt",
  );
  aggregateSpec(CredentialAggregate).given().when(register(hash, ["a,b"])).thenError(
    SecurityDomainErrors.INVALID,
  );
  aggregateSpec(CredentialAggregate).given().when(register(hash, ["b", "a", "b"])).then(
    create(domain.CredentialsAddedEventSchema, {
      identifier: "bob",
      passwordHash: hash,
      roles: ["a", "b"],
      authorization,
    }),
  );
});

Deno.test("PropertyAggregate validates known properties", () => {
  const change = (name: string, value: string) =>
    create(domain.ChangePropertyCommandSchema, { name, value, authorization });
  aggregateSpec(PropertyAggregate).given().when(change("jwt.lifetime.seconds", "0")).thenError(
    SecurityDomainErrors.INVALID,
  );
  aggregateSpec(PropertyAggregate).given().when(change("Bad Name", "x")).thenError(
    SecurityDomainErrors.INVALID,
  );
  aggregateSpec(PropertyAggregate).given().when(change("jwt.lifetime.seconds", "60")).then(
    create(domain.PropertyChangedEventSchema, { name: "jwt.lifetime.seconds", value: "60", authorization }),
  );
});
