/**
 * Nonces a flood cannot evict: a nonce obtained before 20,000 GetChallenge calls (real gRPC calls, 64 in
 * flight) still signs a request afterwards; it is single-use; an expired one is refused (injected, frozen clock).
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { signRequest } from "../../src/dendrite/security/mod.ts";
import { SetPropertyRequestSchema } from "../../src/gen/dendrite/security/v1/config_pb.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { bearer, startSecurityFixture } from "./fixture.ts";

const SET_PROPERTY = "dendrite.security.v1.ConfigService/SetProperty";
const FLOOD = 20_000;
const IN_FLIGHT = 64;

Deno.test("a nonce obtained before a 20,000-request GetChallenge flood still works, once; an expired one is refused", async () => {
  // The clock stands still (only `advance` moves it): a slow flood on a loaded machine must not expire the nonce.
  const f = await startSecurityFixture({ freezeClock: true });
  try {
    const signed = async (value: string) => {
      const request = create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value });
      const { nonce } = await f.challenges.getChallenge({});
      await signRequest(SetPropertyRequestSchema, request, SET_PROPERTY, nonce, f.manager);
      return request;
    };
    const request = await signed("600");
    let next = 0;
    const flooder = async () => {
      while (next++ < FLOOD) await f.challenges.getChallenge({});
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, flooder));

    await f.config.setProperty(request);
    const admin = bearer(await f.login("admin", f.adminPassword!));
    assertEquals(
      (await f.config.getProperty({ name: "jwt.lifetime.seconds" }, admin)).property?.value,
      "600",
    );
    const replay = await assertRejects(() => f.config.setProperty(request), ConnectError);
    assertEquals(replay.code, Code.Unauthenticated);

    const late = await signed("700");
    f.advance(60_001);
    const expired = await assertRejects(() => f.config.setProperty(late), ConnectError);
    assertEquals(expired.code, Code.Unauthenticated);
    assertEquals(expired.rawMessage, "The challenge is unknown, used or expired; get a new one");
  } finally {
    await f.close();
  }
});
