/**
 * What the status surface shows: a paused processor instance keeps one row per segment (token, lag), the
 * in-process components of the embedded program are listed as a client named after its roles and host, the
 * page has a favicon, and `/metrics` and `/v1/history` follow the status port's access rule.
 */
import { create } from "@bufbuild/protobuf";
import { hostname } from "node:os";
import { EventSchema } from "../../src/gen/axon/event_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { createEmbedded } from "../../src/example/wiring.ts";
import type { ProcessorView } from "../../src/soma/mod.ts";
import { statusHandler, type StatusSource } from "../../src/soma/http.ts";
import { processorClient } from "./processor_client.ts";
import { events, RawClient, testSoma } from "./raw_client.ts";

const TOKEN = "dashboard-test-token";

Deno.test("soma status: a paused instance keeps each segment's row with its token and lag", async () => {
  const { soma, dispose } = await testSoma({ accessToken: TOKEN });
  const worker = await processorClient(soma.port, {
    token: TOKEN,
    clientId: "w1",
    processorName: "greetings",
  });
  const segments = async () => {
    const response = await fetch(`http://127.0.0.1:${soma.httpPort}/v1/processors`, {
      headers: { "AxonIQ-Access-Token": TOKEN },
    });
    const views = await response.json() as ProcessorView[];
    return views[0].instances[0].segments;
  };
  const writer = new RawClient(soma.port, { token: TOKEN });
  try {
    await writer.clientStream(
      events.appendEvent,
      Array.from({ length: 10 }, () => create(EventSchema, { messageIdentifier: crypto.randomUUID() })),
    );
    await worker.report(true, [
      { segment: 0, onePartOf: 2, tokenPosition: 3 },
      { segment: 1, onePartOf: 2, tokenPosition: 5 },
    ]);
    assertEquals((await segments()).map((s) => [s.segment, s.tokenPosition, s.claimed]), [[0, 3, true], [
      1,
      5,
      true,
    ]]);
    await worker.report(false, []); // paused: the instance released its segments
    const paused = await segments();
    assertEquals(paused.map((s) => [s.segment, s.onePartOf, s.tokenPosition, s.claimed]), [
      [0, 2, 3, false],
      [1, 2, 5, false],
    ]);
    assertEquals(paused.map((s) => s.lag), [6, 4], "lag against the store's last token (9)");
  } finally {
    writer.close();
    worker.close();
    await dispose();
  }
});

Deno.test("soma status: the embedded program's in-process components are a client named after roles and host", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "soma-embedded-" });
  const app = await createEmbedded({ dataDir });
  try {
    const clients = (await app.soma.status()).clients;
    const local = clients.filter((c) => c.local);
    assertEquals(local.length, 1, JSON.stringify(clients));
    assertEquals(local[0].clientId, `command+projection@${hostname()}-${Deno.pid}`);
    assertEquals(local[0].component, "dendrite-example");
  } finally {
    await app.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("soma status page: a favicon instead of a 404", async () => {
  const { soma, dispose } = await testSoma();
  try {
    for (const path of ["/favicon.ico", "/favicon.svg"]) {
      const response = await fetch(`http://127.0.0.1:${soma.httpPort}${path}`);
      assertEquals(response.status, 200, path);
      assertEquals(response.headers.get("content-type"), "image/svg+xml");
      assert((await response.text()).startsWith("<svg"), path);
    }
  } finally {
    await dispose();
  }
});

Deno.test("soma status port: /metrics needs the token even where the status is open; /v1/history hides processors without it", async () => {
  const history = {
    intervalMs: 5_000,
    samples: [{
      at: 1,
      lastToken: 9,
      commands: 3,
      queries: 1,
      processors: [{ name: "p", lag: 4, failing: 0, deadLetters: 0 }],
    }],
  };
  const source = (openStatus: boolean): StatusSource => ({
    status: () => Promise.reject(new Error("not read")),
    processors: () => Promise.resolve([]),
    act: () => Promise.reject(new Error("not called")),
    access: { token: "t", openStatus },
    metrics: () =>
      Promise.resolve({ text: "# TYPE a gauge\na 1\n", contentType: "text/plain; version=0.0.4" }),
    history: () => history,
  });
  const get = (path: string, openStatus: boolean, token?: string) =>
    statusHandler(source(openStatus))(
      new Request(`http://127.0.0.1${path}`, { headers: token ? { "AxonIQ-Access-Token": token } : {} }),
    );
  assertEquals((await get("/metrics", true)).status, 401);
  assertEquals((await get("/metrics", true, "wrong")).status, 403);
  const metrics = await get("/metrics", true, "t");
  assertEquals([metrics.status, await metrics.text()], [200, "# TYPE a gauge\na 1\n"]);
  const open = await (await get("/v1/history", true)).json();
  assertEquals(open.samples[0].processors, []);
  assertEquals(open.samples[0].lastToken, 9);
  assertEquals((await (await get("/v1/history", true, "t")).json()).samples[0].processors[0].name, "p");
  assertEquals((await get("/v1/history", false)).status, 401);
});
