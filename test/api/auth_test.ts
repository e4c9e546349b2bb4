/**
 * The program's access policy over real loopback: Greet, Search, Greetings and GetStatus are public; Record and
 * Stop need a token with role `admin` (none or a bad one → UNAUTHENTICATED, HTTP 401 in Connect; no role →
 * PERMISSION_DENIED, 403). Commands and queries carry the caller's subject and roles, never the token, and the
 * log holds no password or token.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { join } from "node:path";
import { type Metadata, MetadataKeys, type QueryBus } from "../../src/dendrite/mod.ts";
import { credentialRequest, SecureFiles, signedCall } from "../../src/example/security/mod.ts";
import { CredentialService } from "../../src/gen/dendrite/security/v1/credentials_pb.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { GreeterService, StopRequestSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { FAST_SCRYPT } from "../security/fixture.ts";
import { startTestApp, type TestApp } from "./fixture.ts";
import { grpc, grpcClient, isServiceError, unary } from "./grpc_client.ts";
import { connectJson, GREETER, grpcWebBody, grpcWebCall } from "./wire.ts";

const VIEWER = { identifier: "viewer", password: "viewer-password-7Qx", roles: ["viewer"] };

/** Creates user `viewer` (role `viewer`) the way a key manager does: a signed RegisterCredential. */
async function registerViewer(t: TestApp): Promise<void> {
  await signedCall(
    t.transport,
    await t.rootKeyManager(),
    CredentialService.method.registerCredential,
    await credentialRequest(VIEWER.identifier, VIEWER.password, VIEWER.roles, FAST_SCRYPT),
  );
}

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** A token whose signature was changed (still well-formed). */
function tampered(token: string): string {
  const last = token.at(-2) === "A" ? "B" : "A";
  return token.slice(0, -2) + last + token.at(-1);
}

async function recording(t: TestApp): Promise<boolean> {
  const { json } = await connectJson(t.url, `${GREETER}/GetStatus`, {});
  return (json as { recording?: boolean }).recording === true;
}

Deno.test("Record and Stop without a token, or with a bad one, are UNAUTHENTICATED (401) in every protocol", async () => {
  const t = await startTestApp();
  const client = grpcClient(GreeterService, t.address);
  try {
    const admin = await t.adminToken();
    const cases: [string, Record<string, string>][] = [
      ["no token", {}],
      ["garbage", { authorization: "Bearer not-a-token" }],
      ["not a bearer token", { authorization: `Basic ${btoa(`admin:${t.adminPassword}`)}` }],
      ["a tampered admin token", auth(tampered(admin))],
    ];
    for (const [label, headers] of cases) {
      for (const method of ["Record", "Stop"]) {
        const { response, json } = await connectJson(t.url, `${GREETER}/${method}`, {}, undefined, headers);
        assertEquals(response.status, 401, `Connect ${method} with ${label}`);
        assertEquals((json as { code?: string }).code, "unauthenticated", `${method} with ${label}`);
      }
    }

    const error = await assertRejects(() => unary(client, GreeterService.method.stop, {}));
    assert(isServiceError(error), String(error));
    assertEquals(error.code, grpc.status.UNAUTHENTICATED);
    const web = await grpcWebCall(t.url, `${GREETER}/Stop`, grpcWebBody(StopRequestSchema, {}));
    assertEquals(web.grpcStatus, String(grpc.status.UNAUTHENTICATED));
    assertEquals(await recording(t), true, "nothing was stopped");

    // Public methods stay open without a token, but a token that is sent is always checked.
    const greet = await connectJson(t.url, `${GREETER}/Greet`, { message: "anonymous" });
    assertEquals(greet.response.status, 200);
    const status = await connectJson(t.url, `${GREETER}/GetStatus`, {});
    assertEquals(status.response.status, 200);
    const badToken = await connectJson(t.url, `${GREETER}/Greet`, { message: "x" }, undefined, auth("x.y.z"));
    assertEquals(badToken.response.status, 401);
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("a token without role admin is PERMISSION_DENIED (403) for Record and Stop, and may still greet", async () => {
  const t = await startTestApp();
  const client = grpcClient(GreeterService, t.address);
  try {
    await registerViewer(t);
    const token = await t.login(VIEWER.identifier, VIEWER.password);
    for (const method of ["Record", "Stop"]) {
      const { response, json } = await connectJson(t.url, `${GREETER}/${method}`, {}, undefined, auth(token));
      assertEquals(response.status, 403, `Connect ${method}`);
      assertEquals((json as { code?: string }).code, "permission_denied");
    }
    const error = await assertRejects(() => unary(client, GreeterService.method.stop, {}, auth(token)));
    assert(isServiceError(error), String(error));
    assertEquals(error.code, grpc.status.PERMISSION_DENIED);
    assertEquals(await recording(t), true, "nothing was stopped");

    const greet = await connectJson(
      t.url,
      `${GREETER}/Greet`,
      { message: "from a viewer" },
      undefined,
      auth(token),
    );
    assertEquals(greet.response.status, 200);
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("with role admin Stop and Record succeed; their events carry subject and roles, never the token", async () => {
  const t = await startTestApp();
  const client = grpcClient(GreeterService, t.address);
  try {
    await registerViewer(t);
    const admin = await t.adminToken();
    const viewer = await t.login(VIEWER.identifier, VIEWER.password);

    const stop = await connectJson(t.url, `${GREETER}/Stop`, {}, undefined, {
      ...auth(admin),
      "x-correlation-id": "stop-by-admin",
    });
    assertEquals(stop.response.status, 200, stop.text);
    assertEquals(await recording(t), false);
    assertEquals((await unary(client, GreeterService.method.record, {}, auth(admin))).recording, true);
    await connectJson(t.url, `${GREETER}/Greet`, { message: "by the viewer" }, undefined, auth(viewer));
    await connectJson(t.url, `${GREETER}/Greet`, { message: "by nobody" });

    const events: { type: string; metadata: Metadata; message?: string }[] = [];
    for await (const record of t.app.ports.eventStore.readAggregate("main")) {
      const message = record.payload.type === domain.GreetedEventSchema.typeName
        ? fromBinary(domain.GreetedEventSchema, record.payload.data).message
        : undefined;
      events.push({ type: record.payload.type, metadata: record.metadata, message });
    }
    const stopped = events.find((e) => e.type === domain.RecordingStoppedEventSchema.typeName);
    const started = events.find((e) => e.type === domain.RecordingStartedEventSchema.typeName);
    assertEquals(stopped?.metadata[MetadataKeys.subject], "admin");
    assertEquals(stopped?.metadata[MetadataKeys.roles], "admin");
    assertEquals(stopped?.metadata[MetadataKeys.correlationId], "stop-by-admin");
    assertEquals(started?.metadata[MetadataKeys.subject], "admin");
    assertEquals(started?.metadata[MetadataKeys.roles], "admin");
    const byViewer = events.find((e) => e.message === "by the viewer");
    assertEquals(byViewer?.metadata[MetadataKeys.subject], "viewer");
    assertEquals(byViewer?.metadata[MetadataKeys.roles], "viewer");
    const byNobody = events.find((e) => e.message === "by nobody");
    assert(byNobody, "the anonymous greeting was stored");
    assertEquals(byNobody.metadata[MetadataKeys.subject], undefined);
    assertEquals(byNobody.metadata[MetadataKeys.roles], undefined);

    const stored = JSON.stringify(events.map((e) => e.metadata));
    for (const token of [admin, viewer]) {
      for (const part of token.split(".")) {
        assert(!stored.includes(part), "no part of a token in the metadata");
      }
    }
    assert(!/authorization|bearer/i.test(stored), stored);
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("queries carry the caller's subject and roles, never the token", async () => {
  const seen: Metadata[] = [];
  const spy = (bus: QueryBus): QueryBus =>
    new Proxy(bus, {
      get(target, property) {
        if (property === "query") {
          return (query: Parameters<QueryBus["query"]>[0], options?: Parameters<QueryBus["query"]>[1]) => {
            seen.push(options?.metadata ?? {});
            return target.query(query, options);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const t = await startTestApp({ ports: (ports) => ({ ...ports, queryBus: spy(ports.queryBus) }) });
  try {
    await registerViewer(t);
    const viewer = await t.login(VIEWER.identifier, VIEWER.password);
    assertEquals(
      (await connectJson(t.url, `${GREETER}/GetStatus`, {}, undefined, auth(viewer))).response.status,
      200,
    );
    assertEquals(seen.length, 1);
    assertEquals(seen[0][MetadataKeys.subject], "viewer");
    assertEquals(seen[0][MetadataKeys.roles], "viewer");
    assert(typeof seen[0][MetadataKeys.correlationId] === "string");
    assert(!JSON.stringify(seen[0]).includes(viewer.split(".")[2]), "no token in the query metadata");

    assertEquals((await connectJson(t.url, `${GREETER}/GetStatus`, {})).response.status, 200);
    assertEquals(seen.length, 2);
    assertEquals(seen[1][MetadataKeys.subject], undefined, "an anonymous query has no subject");
  } finally {
    await t.close();
  }
});

Deno.test("Login answers a token; a wrong password is 401; the log holds no password and no token", async () => {
  const t = await startTestApp();
  try {
    const login = await connectJson(t.url, "/dendrite.security.v1.AuthService/Login", {
      identifier: "admin",
      password: t.adminPassword,
    });
    assertEquals(login.response.status, 200);
    const answer = login.json as { token?: string; expiresAt?: string; roles?: string[] };
    assert(typeof answer.token === "string" && answer.token.split(".").length === 3, login.text);
    assert(Number(answer.expiresAt) > Date.now(), `expiresAt ${answer.expiresAt}`);
    assertEquals(answer.roles, ["admin"]);

    const wrongPassword = "wrong-password-Zk93";
    const refused = await connectJson(t.url, "/dendrite.security.v1.AuthService/Login", {
      identifier: "admin",
      password: wrongPassword,
    });
    assertEquals(refused.response.status, 401);
    assertEquals((refused.json as { code?: string }).code, "unauthenticated");

    await registerViewer(t);
    const viewer = await t.login(VIEWER.identifier, VIEWER.password);
    const record = await connectJson(t.url, `${GREETER}/Record`, {}, undefined, auth(answer.token));
    assertEquals(record.response.status, 200);
    await connectJson(t.url, `${GREETER}/Stop`, {}, undefined, auth(viewer));

    const log = t.logs.join("\n");
    assert(log.includes('"msg":"admin sign-in"') && log.includes("DENDRITE_ADMIN_PASSWORD"), "says where");
    assert(log.includes("Login refused"), "the refusal is logged");
    for (const secret of [t.adminPassword, wrongPassword, VIEWER.password]) {
      assert(!log.includes(secret), "a password is in the log");
    }
    for (const token of [answer.token, viewer]) {
      assert(!log.includes(token.split(".")[2]), "a token's signature is in the log");
    }
    const signingKey = await Deno.readTextFile(join(t.dataDir, "secure", SecureFiles.jwtSigningKey));
    const keyBody = signingKey.split("\n").filter((line) => line && !line.startsWith("-----")).join("");
    assert(!log.includes(keyBody), "the signing key is in the log");
  } finally {
    await t.close();
  }
});
