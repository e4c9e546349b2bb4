/**
 * soma authenticates clients by default: `src/soma/main.ts` (a real process) generates a token into
 * DATA_DIR/secure/soma-token (0600), requires it on every gRPC call, reuses it after a restart, and AXON_TOKEN
 * overrides it. Beyond loopback, soma does not listen without client authentication. The status port serves only
 * a read-only summary without the token.
 */
import { create } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { EventSchema } from "../../src/gen/axon/event_pb.ts";
import { somaTokenPath, startSoma, UnsafeExposureError } from "../../src/soma/mod.ts";
import { errorCode, events, RawClient, spawnSoma } from "./raw_client.ts";

function event(id: string, sequence: number) {
  return create(EventSchema, {
    messageIdentifier: id,
    aggregateIdentifier: "access-agg",
    aggregateSequenceNumber: BigInt(sequence),
    aggregateType: "Access",
    timestamp: BigInt(Date.now()),
    payload: { type: "test.v1.Appended", revision: "", data: new Uint8Array([1]) },
  });
}

async function appendFails(port: number, token: string | undefined, code: string): Promise<void> {
  const client = new RawClient(port, { token });
  try {
    const error = await assertRejects(() => client.clientStream(events.appendEvent, [event("refused", 0)]));
    assertEquals((error as unknown as { code: number }).code, Status.PERMISSION_DENIED);
    assertEquals(errorCode(error), code);
  } finally {
    client.close();
  }
}

async function append(port: number, token: string, id: string, sequence: number): Promise<void> {
  const client = new RawClient(port, { token });
  try {
    await client.clientStream(events.appendEvent, [event(id, sequence)]);
  } finally {
    client.close();
  }
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  await child.status;
}

Deno.test("soma process: a generated 0600 token is required on AppendEvent and reused after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-access-" });
  try {
    const first = await spawnSoma(dir);
    try {
      const file = await Deno.stat(somaTokenPath(dir));
      assertEquals(file.mode! & 0o777, 0o600, "the token file is 0600");
      assertEquals((await Deno.stat(join(dir, "secure"))).mode! & 0o077, 0, "secure/ is private");
      assert(first.token.length >= 40, "a long random token");
      await appendFails(first.port, undefined, "AXONIQ-1000");
      await appendFails(first.port, "not-the-token", "AXONIQ-1001");
      await append(first.port, first.token, "first", 0);
    } finally {
      await stop(first.process);
    }
    const second = await spawnSoma(dir);
    try {
      assertEquals(second.token, first.token, "the same token after a restart");
      await append(second.port, first.token, "second", 1);
    } finally {
      await stop(second.process);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("soma process: AXON_TOKEN overrides the token file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-access-" });
  try {
    const generated = await spawnSoma(dir);
    await stop(generated.process);
    const child = await spawnSoma(dir, { AXON_TOKEN: "operator-chosen-token" });
    try {
      await appendFails(child.port, generated.token, "AXONIQ-1001");
      await append(child.port, "operator-chosen-token", "chosen", 0);
    } finally {
      await stop(child.process);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("soma refuses to listen beyond loopback without a token or TLS client auth, in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-access-" });
  try {
    const error = await assertRejects(
      () => startSoma({ dataDir: dir, host: "0.0.0.0", port: 0, httpPort: 0 }),
      UnsafeExposureError,
    );
    assert(
      error.message.includes('AXON_HOST="0.0.0.0"') && error.message.includes("AXON_TOKEN"),
      error.message,
    );
    assert(!error.message.includes("\n"), "one line");
    const soma = await startSoma({ dataDir: dir, host: "0.0.0.0", port: 0, httpPort: 0, accessToken: "t" });
    await soma.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("soma process: the status port serves a summary without the token, details and actions with it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-access-" });
  const child = await spawnSoma(dir);
  const base = `http://127.0.0.1:${child.httpPort}`;
  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(base + path, init);
    return { status: response.status, body: await response.json() as Record<string, unknown> };
  };
  const auth = { "AxonIQ-Access-Token": child.token };
  try {
    const open = await call("/v1/status");
    assertEquals(open.status, 200);
    assertEquals(open.body.clients, undefined, "no client details without the token");
    assertEquals(open.body.authenticated, false);
    assert(Array.isArray((await call("/v1/status", { headers: auth })).body.clients));
    assertEquals((await call("/v1/processors")).status, 401);
    assertEquals((await call("/v1/processors", { headers: { "AxonIQ-Access-Token": "wrong" } })).status, 403);
    assertEquals((await call("/v1/processors", { headers: auth })).status, 200);
    assertEquals((await call("/v1/processors/p/pause", { method: "POST" })).status, 401);
    assertEquals(
      (await call("/v1/processors/p/pause", {
        method: "POST",
        headers: { authorization: `Bearer ${child.token}` },
      }))
        .status,
      404,
      "authorised (no such processor)",
    );
  } finally {
    await stop(child.process);
    await Deno.remove(dir, { recursive: true });
  }
});
