import { SignJWT, UnsecuredJWT } from "jose";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { UnauthenticatedError } from "./errors.ts";
import { JwtIssuer, JwtVerifier } from "./jwt.ts";
import { generateEd25519, toBase64Url } from "./keys.ts";

const AUD = { issuer: "dendrite", audience: "dendrite-api" };

async function setup() {
  const key = await generateEd25519();
  const trusted = new Map([[key.keyId, key.publicKey]]);
  const verifier = new JwtVerifier({ ...AUD, resolveKey: (kid) => trusted.get(kid) });
  return { key, trusted, verifier, issuer: new JwtIssuer(key, AUD) };
}

Deno.test("JwtVerifier accepts a token of a trusted key with iss, aud, sub, iat, exp, kid and roles", async () => {
  const { key, verifier, issuer } = await setup();
  const { token, expiresAt } = await issuer.issue({
    subject: "alice",
    roles: ["admin"],
    lifetimeSeconds: 900,
  });
  const claims = await verifier.verify(token);
  assertEquals(claims.subject, "alice");
  assertEquals(claims.roles, ["admin"]);
  assertEquals(claims.keyId, key.keyId);
  assertEquals(claims.expiresAt - claims.issuedAt, 900);
  assertEquals(claims.expiresAt * 1000, expiresAt);
});

Deno.test("JwtVerifier refuses expired, tampered, alg none, wrong audience/issuer and unknown-kid tokens", async () => {
  const { key, trusted, verifier, issuer } = await setup();
  const refuse = (token: string, part: string) =>
    assertRejects(() => verifier.verify(token), UnauthenticatedError, part);

  const past = new JwtIssuer(key, AUD, () => Date.now() - 3_600_000);
  await refuse((await past.issue({ subject: "a", roles: [], lifetimeSeconds: 60 })).token, "expired");

  const { token } = await issuer.issue({ subject: "alice", roles: [], lifetimeSeconds: 900 });
  const [header, payload, signature] = token.split(".");
  const forged = toBase64Url(new TextEncoder().encode(
    JSON.stringify({
      ...JSON.parse(
        new TextDecoder().decode(
          Uint8Array.from(atob(payload.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0)),
        ),
      ),
      roles: ["admin"],
    }),
  )); // deno-fmt-ignore
  await refuse(`${header}.${forged}.${signature}`, "not valid");

  const none = new UnsecuredJWT({ roles: ["admin"] }).setIssuer(AUD.issuer).setAudience(AUD.audience)
    .setSubject("mallory").setIssuedAt().setExpirationTime("1h").encode();
  await refuse(none, "");

  const wrongAudience = new JwtIssuer(key, { ...AUD, audience: "another-api" });
  await refuse(
    (await wrongAudience.issue({ subject: "a", roles: [], lifetimeSeconds: 60 })).token,
    "not valid",
  );
  const wrongIssuer = new JwtIssuer(key, { ...AUD, issuer: "someone" });
  await refuse(
    (await wrongIssuer.issue({ subject: "a", roles: [], lifetimeSeconds: 60 })).token,
    "not valid",
  );

  const stranger = await generateEd25519();
  await refuse(
    (await new JwtIssuer(stranger, AUD).issue({ subject: "a", roles: [], lifetimeSeconds: 60 })).token,
    "not trusted",
  );

  // HS256 keyed with the public key bytes (algorithm confusion) is refused before any key is used.
  const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256", kid: key.keyId }).setIssuer(AUD.issuer)
    .setAudience(AUD.audience).setSubject("a").setIssuedAt().setExpirationTime("1h")
    .sign(new Uint8Array(await crypto.subtle.exportKey("raw", key.publicKey)));
  await refuse(hs, "");

  // Removing the key revokes the token.
  trusted.delete(key.keyId);
  await refuse(token, "not trusted");
});

Deno.test("JwtIssuer refuses a non-positive lifetime", async () => {
  const { issuer } = await setup();
  await assertRejects(() => issuer.issue({ subject: "a", roles: [], lifetimeSeconds: 0 }), RangeError);
});
