/**
 * Trust does not depend on who can write to the event store: security events appended straight to the store
 * (as anyone reaching an Axon server's port can) are verified against the key managers of their point in the
 * history when the model is built, and ignored, logged and listed when they do not verify — before and after
 * a rebuild. Legitimately signed changes survive the rebuild.
 */
import { join } from "node:path";
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  InMemoryEventStore,
  LocalCommandBus,
  MessageRegistry,
  MetadataKeys,
} from "../../src/dendrite/mod.ts";
import {
  authorizationOf,
  type Ed25519KeyPair,
  generateEd25519,
  JwtIssuer,
  signRequest,
} from "../../src/dendrite/security/mod.ts";
import {
  keyAggregateId,
  provisionEmbedded,
  UnsignedSecurityHistoryError,
} from "../../src/example/security/mod.ts";
import * as domain from "../../src/gen/dendrite/security/v1/domain_pb.ts";
import {
  AddKeyManagerRequestSchema,
  AddTrustedKeyRequestSchema,
  KeyService,
  RemoveKeyManagerRequestSchema,
  RemoveTrustedKeyRequestSchema,
} from "../../src/gen/dendrite/security/v1/keys_pb.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { bearer, FAST_SCRYPT, type SecurityFixture, startSecurityFixture } from "./fixture.ts";

const ADD_TRUSTED_KEY = "dendrite.security.v1.KeyService/AddTrustedKey";

/** Appends an event to the store directly, the way anyone with write access to the store can. */
async function append<S extends DescMessage>(
  store: InMemoryEventStore,
  schema: S,
  event: MessageShape<S>,
  aggregateId: string,
): Promise<void> {
  const sequence = await store.highestSequence(aggregateId) + 1;
  await store.append([{
    id: crypto.randomUUID(),
    timestamp: Date.now(),
    payload: { type: schema.typeName, revision: "", data: toBinary(schema, event) },
    metadata: { [MetadataKeys.subject]: "attacker" },
    aggregate: { type: "dendrite.security.v1.Key", id: aggregateId, sequence },
  }]);
}

/** A TrustedKeyAddedEvent for `key`, with a request for it signed by `signer` (valid signature). */
async function selfSignedTrust(f: SecurityFixture, key: Ed25519KeyPair, signer: Ed25519KeyPair) {
  const request = create(AddTrustedKeyRequestSchema, { name: "forged", publicKey: key.publicKeyRaw });
  const { nonce } = await f.challenges.getChallenge({});
  await signRequest(AddTrustedKeyRequestSchema, request, ADD_TRUSTED_KEY, nonce, signer);
  return create(domain.TrustedKeyAddedEventSchema, {
    keyId: key.keyId,
    name: "forged",
    publicKey: key.publicKeyRaw,
    authorization: authorizationOf(AddTrustedKeyRequestSchema, request, ADD_TRUSTED_KEY),
  });
}

async function adminJwt(key: Ed25519KeyPair): Promise<string> {
  const issuer = new JwtIssuer(key, { issuer: "dendrite", audience: "dendrite-api" });
  return (await issuer.issue({ subject: "mallory", roles: ["admin"], lifetimeSeconds: 300 })).token;
}

async function stopWith(f: SecurityFixture, key: Ed25519KeyPair): Promise<Code | "ok"> {
  try {
    await f.greeter.stop({}, bearer(await adminJwt(key)));
    return "ok";
  } catch (error) {
    if (error instanceof ConnectError) return error.code;
    throw error;
  }
}

function reasons(f: SecurityFixture): string[] {
  return f.security.rejectedEvents().events.map((e) => e.reason);
}

Deno.test("an event signed by a key that is no key manager at its point in the history is ignored, also after a restart", async () => {
  const first = await startSecurityFixture();
  const store = first.eventStore;
  const mallory = await generateEd25519();
  const deputy = await generateEd25519();
  let second: SecurityFixture | undefined;
  try {
    // Unsigned, and signed by a key that is not (yet) a key manager.
    await append(
      store,
      domain.TrustedKeyAddedEventSchema,
      create(domain.TrustedKeyAddedEventSchema, {
        keyId: mallory.keyId,
        name: "forged",
        publicKey: mallory.publicKeyRaw,
      }),
      keyAggregateId(mallory.keyId),
    );
    await append(
      store,
      domain.TrustedKeyAddedEventSchema,
      await selfSignedTrust(first, mallory, deputy),
      keyAggregateId(mallory.keyId),
    );
    await first.security.caughtUp();
    assertEquals(first.security.model.trustedKeys.has(mallory.keyId), false);
    assertEquals(reasons(first), ["unsigned", `signer ${deputy.keyId} is not a key manager at this point`]);
    assertEquals(await stopWith(first, mallory), Code.Unauthenticated);
    const warning = first.logs.find((l) => l.startsWith("WARN Security event ignored"));
    assert(warning?.includes(`"type":"dendrite.security.v1.TrustedKeyAddedEvent"`), warning);
    assert(warning?.includes(`"reason":"unsigned"`), warning);

    // The deputy becomes a key manager afterwards: its earlier event stays ignored.
    await first.signed(
      KeyService.method.addKeyManager,
      create(AddKeyManagerRequestSchema, { name: "deputy", publicKey: deputy.publicKeyRaw }),
    );
    assertEquals(first.security.model.trustedKeys.has(mallory.keyId), false);
    await first.close(true);

    second = await startSecurityFixture({ dir: first.dir, eventStore: store });
    assertEquals(second.security.model.trustedKeys.has(mallory.keyId), false);
    assert(second.security.model.keyManager(deputy.keyId), "the signed AddKeyManager survived the restart");
    assertEquals(reasons(second).length, 2);
    assertEquals(await stopWith(second, mallory), Code.Unauthenticated);

    // Now a key manager, the deputy's signed change counts; once removed, its signatures no longer do.
    const friend = await generateEd25519();
    await second.signed(
      KeyService.method.addTrustedKey,
      create(AddTrustedKeyRequestSchema, { name: "friend", publicKey: friend.publicKeyRaw }),
      deputy,
    );
    assertEquals(await stopWith(second, friend), "ok");
    await second.signed(
      KeyService.method.removeKeyManager,
      create(RemoveKeyManagerRequestSchema, { keyId: deputy.keyId }),
    );
    await append(
      store,
      domain.TrustedKeyAddedEventSchema,
      await selfSignedTrust(second, mallory, deputy),
      keyAggregateId(mallory.keyId),
    );
    await second.security.caughtUp();
    assertEquals(second.security.model.trustedKeys.has(mallory.keyId), false);
    assertEquals(reasons(second).at(-1), `signer ${deputy.keyId} is not a key manager at this point`);
  } finally {
    if (second) await second.close();
    else await first.close();
  }
});

Deno.test("a replayed or altered signed event is ignored, also after a restart", async () => {
  const first = await startSecurityFixture();
  const store = first.eventStore;
  const kept = await generateEd25519();
  const mallory = await generateEd25519();
  let second: SecurityFixture | undefined;
  try {
    await first.signed(
      KeyService.method.addTrustedKey,
      create(AddTrustedKeyRequestSchema, { name: "kept", publicKey: kept.publicKeyRaw }),
    );
    const [stored] = await Array.fromAsync(store.readAggregate(keyAggregateId(kept.keyId)));
    const original = fromBinary(domain.TrustedKeyAddedEventSchema, stored.payload.data);
    assert(original.authorization?.signature, "the event carries its signed request");
    await first.signed(
      KeyService.method.removeTrustedKey,
      create(RemoveTrustedKeyRequestSchema, { keyId: kept.keyId }),
    );
    assertEquals(await stopWith(first, kept), Code.Unauthenticated);

    // Replayed: the same signed event again, to trust the removed key once more.
    await append(store, domain.TrustedKeyAddedEventSchema, original, keyAggregateId(kept.keyId));
    // Altered: mallory's key in the event, the signed request unchanged.
    await append(store, domain.TrustedKeyAddedEventSchema, {
      ...original,
      keyId: mallory.keyId,
      publicKey: mallory.publicKeyRaw,
    }, keyAggregateId(mallory.keyId));
    // Altered: mallory's key in the event and in the signed request, the signature unchanged.
    const request = fromBinary(AddTrustedKeyRequestSchema, original.authorization.request);
    request.publicKey = mallory.publicKeyRaw;
    await append(store, domain.TrustedKeyAddedEventSchema, {
      ...original,
      keyId: mallory.keyId,
      publicKey: mallory.publicKeyRaw,
      authorization: { ...original.authorization, request: toBinary(AddTrustedKeyRequestSchema, request) },
    }, keyAggregateId(mallory.keyId));
    await first.security.caughtUp();
    const expected = [
      "replayed: an earlier event used the same signed request",
      "the event is not the change its signed request asks for",
      "the signature does not match the content",
    ];
    assertEquals(reasons(first), expected);
    assertEquals(await stopWith(first, kept), Code.Unauthenticated);
    assertEquals(await stopWith(first, mallory), Code.Unauthenticated);
    await first.close(true);

    second = await startSecurityFixture({ dir: first.dir, eventStore: store });
    assertEquals(reasons(second), expected);
    assertEquals(await stopWith(second, kept), Code.Unauthenticated);
    assertEquals(await stopWith(second, mallory), Code.Unauthenticated);
  } finally {
    if (second) await second.close();
    else await first.close();
  }
});

Deno.test("a data folder holding only unsigned security events (an earlier version) is refused with the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-legacy-" });
  const eventStore = new InMemoryEventStore();
  const old = await generateEd25519();
  try {
    await append(
      eventStore,
      domain.TrustedKeyAddedEventSchema,
      create(domain.TrustedKeyAddedEventSchema, {
        keyId: old.keyId,
        name: "jwt-signing",
        publicKey: old.publicKeyRaw,
      }),
      keyAggregateId(old.keyId),
    );
    const error = await assertRejects(
      () =>
        provisionEmbedded({
          dataDir: dir,
          commandBus: new LocalCommandBus(),
          eventStore,
          registry: new MessageRegistry(),
          rootKeyModule: join(dir, "root_key.generated.ts"),
          env: () => undefined,
          scrypt: FAST_SCRYPT,
          logger: { info: () => {}, warn: () => {} },
        }),
      UnsignedSecurityHistoryError,
    );
    assert(error.message.includes("delete the data folder") && error.message.includes("docs/security.md"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
