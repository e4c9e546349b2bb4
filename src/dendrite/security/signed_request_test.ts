import { create } from "@bufbuild/protobuf";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { SetPropertyRequestSchema } from "../../gen/dendrite/security/v1/config_pb.ts";
import { UnauthenticatedError } from "./errors.ts";
import { generateEd25519 } from "./keys.ts";
import { ChallengeStore } from "./challenges.ts";
import { signRequest, verifySignedRequest } from "./signed_request.ts";

const METHOD = "dendrite.security.v1.ConfigService/SetProperty";

async function setup() {
  let now = 1_000_000;
  const challenges = new ChallengeStore({ ttlMs: 30_000, clock: () => now });
  const manager = await generateEd25519();
  const managers = new Map([[manager.keyId, manager.publicKey]]);
  const verify = (request: ReturnType<typeof create<typeof SetPropertyRequestSchema>>, method = METHOD) =>
    verifySignedRequest(SetPropertyRequestSchema, request, method, challenges, (kid) => managers.get(kid));
  const signed = async (value = "600", key = manager) => {
    const request = create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value });
    await signRequest(SetPropertyRequestSchema, request, METHOD, challenges.issue().nonce, key);
    return request;
  };
  return { challenges, manager, verify, signed, advance: (ms: number) => now += ms };
}

Deno.test("verifySignedRequest() accepts a key manager's signature once", async () => {
  const { manager, verify, signed } = await setup();
  const request = await signed();
  assertEquals(await verify(request), { keyId: manager.keyId });
  await assertRejects(() => verify(request), UnauthenticatedError, "unknown, used or expired");
});

Deno.test("verifySignedRequest() refuses a stale nonce", async () => {
  const { verify, signed, advance } = await setup();
  const request = await signed();
  advance(30_001);
  await assertRejects(() => verify(request), UnauthenticatedError, "expired");
});

Deno.test("verifySignedRequest() refuses a signer that is not a key manager", async () => {
  const { verify, signed } = await setup();
  const request = await signed("600", await generateEd25519());
  await assertRejects(() => verify(request), UnauthenticatedError, "not signed by a key manager");
});

Deno.test("verifySignedRequest() refuses a signature over other content, another method or a forged key id", async () => {
  const { manager, verify, signed } = await setup();
  const changed = await signed("600");
  changed.value = "86400";
  await assertRejects(() => verify(changed), UnauthenticatedError, "does not match");

  const otherMethod = await signed("600");
  await assertRejects(
    () => verify(otherMethod, "dendrite.security.v1.CredentialService/RemoveCredential"),
    UnauthenticatedError,
    "does not match",
  );

  const stranger = await generateEd25519();
  const claimed = await signed("600", { ...stranger, keyId: manager.keyId });
  await assertRejects(() => verify(claimed), UnauthenticatedError, "does not match");

  const unsigned = create(SetPropertyRequestSchema, { name: "a", value: "b" });
  await assertRejects(() => verify(unsigned), UnauthenticatedError, "must be signed");
});

Deno.test("verifySignedRequest() lets exactly one of two concurrent copies of a signed request pass", async () => {
  const { verify, signed } = await setup();
  const request = await signed();
  const results = await Promise.allSettled([verify(request), verify(request)]);
  assertEquals(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
});
