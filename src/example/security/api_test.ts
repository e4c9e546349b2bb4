/**
 * The security API end to end, over gRPC (HTTP/2) and Connect (HTTP/1.1) on port 0: the policy's refusals,
 * signed key management, credentials, configuration, and what reaches the logs and the event store.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, UnsecuredJWT } from "jose";
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { bearer, FAST_SCRYPT, startSecurityFixture } from "../../../test/security/fixture.ts";
import {
  fromPem,
  generateEd25519,
  hashPassword,
  importPrivateKey,
  JwtIssuer,
  signRequest,
  toBase64Url,
} from "../../dendrite/security/mod.ts";
import { SetPropertyRequestSchema } from "../../gen/dendrite/security/v1/config_pb.ts";
import { ConfigService } from "../../gen/dendrite/security/v1/config_pb.ts";
import {
  CredentialService,
  RegisterCredentialRequestSchema,
  RemoveCredentialRequestSchema,
} from "../../gen/dendrite/security/v1/credentials_pb.ts";
import {
  AddKeyManagerRequestSchema,
  AddTrustedKeyRequestSchema,
  KeyService,
  RemoveKeyManagerRequestSchema,
  RemoveTrustedKeyRequestSchema,
} from "../../gen/dendrite/security/v1/keys_pb.ts";
import { credentialRequest } from "./client.ts";
import { SecureFiles } from "./root_key.ts";

async function code(call: () => Promise<unknown>): Promise<Code> {
  const error = await assertRejects(call, ConnectError);
  return error.code;
}

function register(identifier: string, password: string, roles: string[] = []) {
  return credentialRequest(identifier, password, roles, FAST_SCRYPT);
}

Deno.test("Record and Stop need role admin; Greet is public; bad tokens are UNAUTHENTICATED", async () => {
  const f = await startSecurityFixture();
  try {
    assert(f.adminPassword, "provisioning wrote an admin password");
    // Public without a token.
    await f.greeter.greet({ message: "hello" });
    // No token.
    assertEquals(await code(() => f.greeter.record({})), Code.Unauthenticated);
    assertEquals(await code(() => f.greeter.stop({})), Code.Unauthenticated);
    // Garbage, a malformed header, and a bad token on a public method.
    assertEquals(await code(() => f.greeter.stop({}, bearer("not-a-jwt"))), Code.Unauthenticated);
    assertEquals(
      await code(() => f.greeter.stop({}, { headers: { authorization: "Basic YWRtaW46eA==" } })),
      Code.Unauthenticated,
    );
    assertEquals(await code(() => f.greeter.greet({ message: "x" }, bearer("a.b.c"))), Code.Unauthenticated);

    const admin = await f.login("admin", f.adminPassword);
    // Tampered: roles changed in the payload, signature kept.
    const [header, payload, signature] = admin.split(".");
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    const forged = toBase64Url(new TextEncoder().encode(JSON.stringify({ ...claims, sub: "mallory" })));
    assertEquals(
      await code(() => f.greeter.stop({}, bearer(`${header}.${forged}.${signature}`))),
      Code.Unauthenticated,
    );
    // alg none.
    const none = new UnsecuredJWT({ roles: ["admin"] }).setIssuer("dendrite").setAudience("dendrite-api")
      .setSubject("admin").setIssuedAt().setExpirationTime("1h").encode();
    assertEquals(await code(() => f.greeter.stop({}, bearer(none))), Code.Unauthenticated);
    // Expired and wrong audience, signed with the real signing key.
    const signingKey = await importPrivateKey(
      fromPem(await Deno.readTextFile(join(f.dir, "secure", SecureFiles.jwtSigningKey))),
    );
    const old = new JwtIssuer(
      signingKey,
      { issuer: "dendrite", audience: "dendrite-api" },
      () => Date.now() - 7_200_000,
    );
    const expired = (await old.issue({ subject: "admin", roles: ["admin"], lifetimeSeconds: 900 })).token;
    assertEquals(await code(() => f.greeter.stop({}, bearer(expired))), Code.Unauthenticated);
    const other = new JwtIssuer(signingKey, { issuer: "dendrite", audience: "other-api" });
    const wrongAudience =
      (await other.issue({ subject: "admin", roles: ["admin"], lifetimeSeconds: 900 })).token;
    assertEquals(await code(() => f.greeter.stop({}, bearer(wrongAudience))), Code.Unauthenticated);
    // Unknown kid: a key nobody trusts.
    const stranger = await generateEd25519();
    const unknownKid = await new SignJWT({ roles: ["admin"] }).setProtectedHeader({
      alg: "EdDSA",
      kid: stranger.keyId,
    })
      .setIssuer("dendrite").setAudience("dendrite-api").setSubject("admin").setIssuedAt().setExpirationTime(
        "1h",
      )
      .sign(stranger.privateKey);
    assertEquals(await code(() => f.greeter.stop({}, bearer(unknownKid))), Code.Unauthenticated);

    // A valid token without the role.
    await f.signed(CredentialService.method.registerCredential, await register("bob", "bob-password-1"));
    const bob = await f.login("bob", "bob-password-1");
    assertEquals(await code(() => f.greeter.stop({}, bearer(bob))), Code.PermissionDenied);
    assertEquals(await code(() => f.credentials.listCredentials({}, bearer(bob))), Code.PermissionDenied);

    // The admin may.
    assertEquals((await f.greeter.stop({}, bearer(admin))).recording, false);
    assertEquals((await f.greeter.record({}, bearer(admin))).recording, true);
  } finally {
    await f.close();
  }
});

Deno.test("Connect answers HTTP 401 without a token and 403 without the role", async () => {
  const f = await startSecurityFixture();
  try {
    const post = (path: string, token?: string) =>
      fetch(`${f.connectUrl}/${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: "{}",
      }).then(async (response) => ({
        status: response.status,
        body: JSON.parse((await response.text()) || "{}"),
      }));
    const none = await post("example.v1.GreeterService/Stop");
    assertEquals(none.status, 401);
    assertEquals(none.body.code, "unauthenticated");
    assertEquals((await post("example.v1.GreeterService/Stop", "x.y.z")).status, 401);
    await f.signed(CredentialService.method.registerCredential, await register("bob", "bob-password-1"));
    assertEquals(
      (await post("example.v1.GreeterService/Stop", await f.login("bob", "bob-password-1"))).status,
      403,
    );
    assertEquals(
      (await post("example.v1.GreeterService/Stop", await f.login("admin", f.adminPassword!))).status,
      200,
    );
    assertEquals((await post("example.v1.GreeterService/Unknown")).status, 404);
  } finally {
    await f.close();
  }
});

Deno.test("commands carry the caller's subject and roles, never the token", async () => {
  const f = await startSecurityFixture();
  try {
    const token = await f.login("admin", f.adminPassword!);
    await f.greeter.stop({}, bearer(token));
    const events = [];
    for await (const record of f.eventStore.stream({ from: 0 })) events.push(record);
    const stopped = events.find((e) => e.payload.type === "example.v1.RecordingStoppedEvent");
    assert(stopped, "the stop was stored");
    assertEquals(stopped.metadata.subject, "admin");
    assertEquals(stopped.metadata.roles, "admin");
    const stored = JSON.stringify(
      events.map((e) => ({ m: e.metadata, d: new TextDecoder().decode(e.payload.data) })),
    );
    assert(!stored.includes(token) && !stored.includes(token.split(".")[2]), "no token in the event store");
    assert(!stored.includes(f.adminPassword!), "no password in the event store");
  } finally {
    await f.close();
  }
});

Deno.test("signed requests: replay, stale nonce, non-key-manager and other content are refused", async () => {
  const f = await startSecurityFixture();
  try {
    const method = ConfigService.method.setProperty;
    const name = `${method.parent.typeName}/${method.name}`;
    const signedRequest = async (value: string, key = f.manager) => {
      const request = create(SetPropertyRequestSchema, { name: "app.colour", value });
      const { nonce } = await f.challenges.getChallenge({});
      await signRequest(SetPropertyRequestSchema, request, name, nonce, key);
      return request;
    };
    // Accepted once, refused when replayed.
    const request = await signedRequest("blue");
    await f.config.setProperty(request);
    assertEquals(await code(() => f.config.setProperty(request)), Code.Unauthenticated);
    // Stale: the nonce expired before use.
    const stale = await signedRequest("green");
    f.advance(61_000);
    assertEquals(await code(() => f.config.setProperty(stale)), Code.Unauthenticated);
    // Signed by a key that is not a key manager (even a trusted JWT key).
    const outsider = await generateEd25519();
    await f.signed(
      KeyService.method.addTrustedKey,
      create(AddTrustedKeyRequestSchema, { name: "outsider", publicKey: outsider.publicKeyRaw }),
    );
    const byOutsider = await signedRequest("red", outsider);
    assertEquals(await code(() => f.config.setProperty(byOutsider)), Code.Unauthenticated);
    // The signature covers other content.
    const changed = await signedRequest("yellow");
    changed.value = "purple";
    assertEquals(await code(() => f.config.setProperty(changed)), Code.Unauthenticated);
    // Unsigned.
    assertEquals(
      await code(() => f.config.setProperty({ name: "app.colour", value: "x" })),
      Code.Unauthenticated,
    );
    // A JWT does not replace a signature, not even the admin's.
    const admin = await f.login("admin", f.adminPassword!);
    assertEquals(
      await code(() => f.config.setProperty({ name: "app.colour", value: "x" }, bearer(admin))),
      Code.Unauthenticated,
    );
    const colour = await f.config.getProperty({ name: "app.colour" }, bearer(admin));
    assertEquals(colour.property?.value, "blue");
  } finally {
    await f.close();
  }
});

Deno.test("key managers can be added and removed; removed keys leave the lists; the root stays", async () => {
  const f = await startSecurityFixture();
  try {
    const admin = bearer(await f.login("admin", f.adminPassword!));
    const deputy = await generateEd25519();
    const { keyId } = await f.signed(
      KeyService.method.addKeyManager,
      create(AddKeyManagerRequestSchema, { name: "deputy", publicKey: deputy.publicKeyRaw }),
    );
    assertEquals(keyId, deputy.keyId);
    const managers = await f.keys.listKeyManagers({}, admin);
    assertEquals(managers.keys.map((k) => k.name), ["root", "deputy"]);
    // The deputy may sign now.
    await f.signed(
      CredentialService.method.registerCredential,
      await register("carol", "carol-password"),
      deputy,
    );
    await f.signed(KeyService.method.removeKeyManager, create(RemoveKeyManagerRequestSchema, { keyId }));
    assertEquals((await f.keys.listKeyManagers({}, admin)).keys.map((k) => k.name), ["root"]);
    assertEquals(
      await code(async () =>
        f.signed(CredentialService.method.registerCredential, await register("dave", "dave-password"), deputy)
      ),
      Code.Unauthenticated,
    );
    assertEquals(
      await code(() =>
        f.signed(
          KeyService.method.removeKeyManager,
          create(RemoveKeyManagerRequestSchema, { keyId: f.manager.keyId }),
        )
      ),
      Code.FailedPrecondition,
    );
    // Trusted keys: the signing key, then one more, removed again.
    const extra = await generateEd25519();
    await f.signed(
      KeyService.method.addTrustedKey,
      create(AddTrustedKeyRequestSchema, { name: "extra", publicKey: extra.publicKeyRaw }),
    );
    assertEquals((await f.keys.listTrustedKeys({}, admin)).keys.map((k) => k.name), ["jwt-signing", "extra"]);
    await f.signed(
      KeyService.method.removeTrustedKey,
      create(RemoveTrustedKeyRequestSchema, { keyId: extra.keyId }),
    );
    assertEquals((await f.keys.listTrustedKeys({}, admin)).keys.map((k) => k.name), ["jwt-signing"]);
    assertEquals(
      await code(() =>
        f.signed(
          KeyService.method.removeTrustedKey,
          create(RemoveTrustedKeyRequestSchema, { keyId: extra.keyId }),
        )
      ),
      Code.NotFound,
    );
  } finally {
    await f.close();
  }
});

Deno.test("jwt.lifetime.seconds sets the token lifetime (default 900) and is validated", async () => {
  const f = await startSecurityFixture();
  try {
    const lifetime = async () => {
      const response = await f.auth.login({ identifier: "admin", password: f.adminPassword! });
      const claims = JSON.parse(atob(response.token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/")));
      assertEquals(Number(response.expiresAt), claims.exp * 1000);
      assertEquals(response.roles, ["admin"]);
      return claims.exp - claims.iat;
    };
    assertEquals(await lifetime(), 900);
    await f.signed(
      ConfigService.method.setProperty,
      create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "60" }),
    );
    assertEquals(await lifetime(), 60);
    assertEquals(
      await code(() =>
        f.signed(
          ConfigService.method.setProperty,
          create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "ten" }),
        )
      ),
      Code.InvalidArgument,
    );
    const admin = bearer(await f.login("admin", f.adminPassword!));
    const listed = await f.config.listProperties({}, admin);
    assertEquals(listed.properties.map((p) => [p.name, p.value, p.default]), [[
      "jwt.lifetime.seconds",
      "60",
      false,
    ]]);
  } finally {
    await f.close();
  }
});

Deno.test("a removed credential cannot log in and leaves the list; a wrong password is refused", async () => {
  const f = await startSecurityFixture();
  try {
    await f.signed(
      CredentialService.method.registerCredential,
      await register("carol", "carol-password", ["editor"]),
    );
    await f.login("carol", "carol-password");
    assertEquals(await code(() => f.login("carol", "carol-passwore")), Code.Unauthenticated);
    assertEquals(await code(() => f.login("nobody", "carol-password")), Code.Unauthenticated);
    await f.signed(
      CredentialService.method.removeCredential,
      create(RemoveCredentialRequestSchema, { identifier: "carol" }),
    );
    assertEquals(await code(() => f.login("carol", "carol-password")), Code.Unauthenticated);
    const admin = bearer(await f.login("admin", f.adminPassword!));
    assertEquals((await f.credentials.listCredentials({}, admin)).credentials.map((c) => c.identifier), [
      "admin",
    ]);
    assertEquals(
      await code(() =>
        f.signed(
          CredentialService.method.registerCredential,
          create(RegisterCredentialRequestSchema, { identifier: "eve", passwordHash: "plain-password" }),
        )
      ),
      Code.InvalidArgument,
    );
    const cheap = await hashPassword("long-enough", { logN: 4, r: 8, p: 1 });
    assertEquals(
      await code(() =>
        f.signed(
          CredentialService.method.registerCredential,
          create(RegisterCredentialRequestSchema, { identifier: "eve", passwordHash: cheap }),
        )
      ),
      Code.InvalidArgument,
    );
    await assertRejects(() => register("eve", "short"), RangeError, "8 to 1024 characters");
    assertEquals(
      await code(async () =>
        f.signed(CredentialService.method.registerCredential, await register("eve", "long-enough", ["a,b"]))
      ),
      Code.InvalidArgument,
    );
  } finally {
    await f.close();
  }
});

Deno.test("the captured log names keys, users and files but holds no password, private key or token", async () => {
  const f = await startSecurityFixture();
  try {
    await f.signed(
      CredentialService.method.registerCredential,
      await register("carol", "carol-secret-pw", ["admin"]),
    );
    const token = await f.login("carol", "carol-secret-pw");
    await code(() => f.login("carol", "not-carols-password"));
    await f.greeter.stop({}, bearer(token));
    await f.signed(
      ConfigService.method.setProperty,
      create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "120" }),
    );
    const log = f.logs.join("\n");
    assert(log.includes("admin-password"), "the log says where the admin password is");
    assert(log.includes('Login of "carol"'), log);
    const secrets = [
      f.adminPassword!,
      "carol-secret-pw",
      "not-carols-password",
      token,
      token.split(".")[2],
      ...(await Promise.all(
        [SecureFiles.rootPrivateKey, SecureFiles.jwtSigningKey].map(async (file) =>
          (await Deno.readTextFile(join(f.dir, "secure", file))).split("\n")[1]
        ),
      )),
    ];
    for (const [name, m] of f.security.model.credentials) {
      secrets.push(`${name}:${m.passwordHash}`, m.passwordHash);
    }
    for (const secret of secrets) {
      assert(!log.includes(secret), `the log contains a secret: ${secret.slice(0, 6)}…`);
    }
  } finally {
    await f.close();
  }
});

Deno.test("a restart rebuilds keys, credentials and properties from the events and keeps the admin password", async () => {
  const first = await startSecurityFixture();
  await first.signed(CredentialService.method.registerCredential, await register("carol", "carol-password"));
  await first.signed(
    ConfigService.method.setProperty,
    create(SetPropertyRequestSchema, { name: "jwt.lifetime.seconds", value: "300" }),
  );
  const signingKeyId = first.security.signingKeyId();
  await first.close(true);
  const second = await startSecurityFixture({ dir: first.dir, eventStore: first.eventStore });
  try {
    assertEquals(second.adminPassword, first.adminPassword);
    assertEquals(second.security.signingKeyId(), signingKeyId);
    await second.login("carol", "carol-password");
    const admin = bearer(await second.login("admin", second.adminPassword!));
    assertEquals(
      (await second.config.getProperty({ name: "jwt.lifetime.seconds" }, admin)).property?.value,
      "300",
    );
    assertEquals((await second.keys.listTrustedKeys({}, admin)).keys.length, 1);
  } finally {
    await second.close();
  }
});

Deno.test("DENDRITE_ADMIN_PASSWORD sets the admin password and no password file is written", async () => {
  const f = await startSecurityFixture({ env: { DENDRITE_ADMIN_PASSWORD: "from-the-environment" } });
  try {
    assertEquals(f.adminPassword, undefined);
    await f.login("admin", "from-the-environment");
    assert(f.logs.join("\n").includes("DENDRITE_ADMIN_PASSWORD"));
    assert(!f.logs.join("\n").includes("from-the-environment"));
  } finally {
    await f.close();
  }
});
