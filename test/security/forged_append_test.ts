/**
 * The attack of issue #12 against the real program: with soma's gRPC port reachable, append a
 * `TrustedKeyAddedEvent` for one's own key with AppendEvent (raw grpc-js), then call Stop with an admin JWT
 * signed by that key. It must be refused (401), while a change signed by the root key manager through the API
 * works, also after the program restarts over the same data folder. Twice: a soma without access token (started
 * alone, the program joining it), and the program's embedded soma with its token known to the attacker (read
 * from the data folder, as any process of the same user can).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  authorizationOf,
  type Ed25519KeyPair,
  generateEd25519,
  JwtIssuer,
  signRequest,
} from "../../src/dendrite/security/mod.ts";
import { keyAggregateId, signedCall } from "../../src/example/security/mod.ts";
import { EventSchema } from "../../src/gen/axon/event_pb.ts";
import { ChallengeService } from "../../src/gen/dendrite/security/v1/auth_pb.ts";
import * as domain from "../../src/gen/dendrite/security/v1/domain_pb.ts";
import { AddTrustedKeyRequestSchema, KeyService } from "../../src/gen/dendrite/security/v1/keys_pb.ts";
import { connectJson, GREETER } from "../api/wire.ts";
import { assert, assertEquals } from "../assert.ts";
import { events, RawClient } from "../soma/raw_client.ts";
import { readSomaToken } from "../../src/soma/mod.ts";
import { spawnReady } from "../child.ts";
import { type Program, startProgram } from "./program.ts";

const ADD_TRUSTED_KEY = "dendrite.security.v1.KeyService/AddTrustedKey";

async function stopStatus(program: Program, key: Ed25519KeyPair): Promise<number> {
  const issuer = new JwtIssuer(key, { issuer: "dendrite", audience: "dendrite-api" });
  const { token } = await issuer.issue({ subject: "mallory", roles: ["admin"], lifetimeSeconds: 300 });
  const { response } = await connectJson(program.url, `${GREETER}/Stop`, {}, undefined, {
    authorization: `Bearer ${token}`,
  });
  return response.status;
}

/** The forged events: as in the report (no signature), and signed by the attacker's own key. */
async function forge(
  program: Program,
  somaPort: number,
  mallory: Ed25519KeyPair,
  token: string | undefined,
): Promise<void> {
  const request = create(AddTrustedKeyRequestSchema, { name: "forged", publicKey: mallory.publicKeyRaw });
  const { nonce } = await withApi(
    program,
    (transport) => createClient(ChallengeService, transport).getChallenge({}),
  );
  await signRequest(AddTrustedKeyRequestSchema, request, ADD_TRUSTED_KEY, nonce, mallory);
  const payloads = [
    create(domain.TrustedKeyAddedEventSchema, {
      keyId: mallory.keyId,
      name: "forged",
      publicKey: mallory.publicKeyRaw,
    }),
    create(domain.TrustedKeyAddedEventSchema, {
      keyId: mallory.keyId,
      name: "forged",
      publicKey: mallory.publicKeyRaw,
      authorization: authorizationOf(AddTrustedKeyRequestSchema, request, ADD_TRUSTED_KEY),
    }),
  ];
  const client = new RawClient(somaPort, { token });
  try {
    await new Promise<void>((resolve, reject) => {
      const call = client.client.makeClientStreamRequest(
        events.appendEvent.path,
        events.appendEvent.requestSerialize,
        events.appendEvent.responseDeserialize,
        client.metadata(),
        {},
        (error) => error ? reject(error) : resolve(),
      );
      payloads.forEach((payload, i) =>
        call.write(create(EventSchema, {
          messageIdentifier: crypto.randomUUID(),
          aggregateIdentifier: keyAggregateId(mallory.keyId),
          aggregateSequenceNumber: BigInt(i),
          aggregateType: "dendrite.security.v1.Key",
          timestamp: BigInt(Date.now()),
          payload: {
            type: "dendrite.security.v1.TrustedKeyAddedEvent",
            revision: "",
            data: toBinary(domain.TrustedKeyAddedEventSchema, payload),
          },
        }))
      );
      call.end();
    });
  } finally {
    client.close();
  }
}

/** A change signed by the root key manager through the API; it returns once the model shows it. */
async function trustLegitimately(program: Program, key: Ed25519KeyPair): Promise<void> {
  const manager = await program.rootKeyManager();
  await withApi(program, (transport) =>
    signedCall(
      transport,
      manager,
      KeyService.method.addTrustedKey,
      create(AddTrustedKeyRequestSchema, { name: "legit", publicKey: key.publicKeyRaw }),
    ));
}

/** Runs `calls` over gRPC (HTTP/2) to the program's gRPC port, then closes the session. */
async function withApi<T>(program: Program, calls: (transport: Transport) => Promise<T>): Promise<T> {
  const sessions = new Http2SessionManager(program.grpcUrl);
  try {
    return await calls(createGrpcTransport({ baseUrl: program.grpcUrl, sessionManager: sessions }));
  } finally {
    sessions.abort();
  }
}

/** The embedded soma's `/v1/status` (with its token) lists both ignored events with their reasons. */
async function assertShownOnSomaStatus(program: Program, token: string, keyId: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${program.somaHttpPort}/v1/status`, {
    headers: { "AxonIQ-Access-Token": token },
  });
  assertEquals(response.status, 200);
  const status = await response.json() as {
    sections: { id: string; columns: string[]; rows: unknown[][]; count: number }[];
  };
  const section = status.sections.find((s) => s.id === "security-rejected");
  assert(section, `no rejected-events section in ${JSON.stringify(status.sections)}`);
  assertEquals(section.count, 2);
  const reason = section.columns.indexOf("reason");
  const aggregate = section.columns.indexOf("aggregate");
  assertEquals(section.rows.map((row) => row[reason]), [
    "unsigned",
    `signer ${keyId} is not a key manager at this point`,
  ]);
  assert(section.rows.every((row) => row[aggregate] === keyAggregateId(keyId)));
}

async function attackAndRestart(
  dataDir: string,
  axonServer: { port: number; token?: string } | undefined,
): Promise<void> {
  const env = { DENDRITE_ADMIN_PASSWORD: "admin-password-for-the-forge-test" };
  const join = axonServer ? `127.0.0.1:${axonServer.port}` : undefined;
  const mallory = await generateEd25519();
  const legit = await generateEd25519();
  let program = await startProgram(dataDir, env, join);
  try {
    const somaPort = axonServer?.port ?? program.somaPort;
    const token = axonServer ? axonServer.token : await readSomaToken(dataDir);
    await forge(program, somaPort, mallory, token);
    // The signed change is processed after the forged events, so the model has seen them when it returns.
    await trustLegitimately(program, legit);
    assertEquals(await stopStatus(program, mallory), 401, "the forged key signs no accepted JWT");
    assertEquals(await stopStatus(program, legit), 200, "the signed change is in effect");
    const ignored = program.lines.filter((l) => l.msg === "Security event ignored: it does not verify");
    assertEquals(ignored.map((l) => l.reason), [
      "unsigned",
      `signer ${mallory.keyId} is not a key manager at this point`,
    ]);
    assert(
      ignored.every((l) => l.component === "security" && l.aggregateId === keyAggregateId(mallory.keyId)),
    );

    if (!axonServer) await assertShownOnSomaStatus(program, token!, mallory.keyId);

    assertEquals(await program.stop(), 0);
    program = await startProgram(dataDir, env, join);
    assertEquals(await stopStatus(program, legit), 200, "the signed change holds after the restart");
    assertEquals(await stopStatus(program, mallory), 401, "the forged key is still refused");
  } finally {
    await program.stop();
  }
}

Deno.test("a TrustedKeyAddedEvent appended through the port of a soma without access token grants nothing; signed changes survive a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dendrite-forge-" });
  const somaDir = await Deno.makeTempDir({ prefix: "dendrite-forge-soma-" });
  const soma = await spawnReady(new URL("./open_soma.ts", import.meta.url), { args: [somaDir] });
  try {
    await attackAndRestart(dataDir, { port: (JSON.parse(soma.line) as { port: number }).port });
  } finally {
    soma.child.kill("SIGTERM");
    await soma.child.status;
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(somaDir, { recursive: true });
  }
});

Deno.test("a TrustedKeyAddedEvent appended with the embedded soma's access token grants nothing; signed changes survive a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dendrite-forge-" });
  try {
    await attackAndRestart(dataDir, undefined);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
