/**
 * `/metrics` of the real program (a child process, every role): after known traffic through the API over Connect
 * (Greets, a refused Greet, GetStatus, a live WatchStatus), the strict parser reads the text and the numbers are
 * exact — requests and commands counted once each, histogram counts equal to the counts, the live subscription
 * counted while it lasts, events appended equal to soma's head, every segment's lag back to 0 once caught up, and a
 * poison event shown as an error and a dead letter (on the API port and on soma's port). The API port's
 * `/metrics` needs `METRICS_TOKEN`; soma's needs soma's token.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { EventSchema } from "../../src/gen/axon/event_pb.ts";
import { GreetedEventSchema } from "../../src/gen/example/v1/domain_pb.ts";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { AuthService } from "../../src/gen/dendrite/security/v1/auth_pb.ts";
import { ProgramProcess } from "../roles/processes.ts";
import { events, RawClient } from "../soma/raw_client.ts";
import { type Family, parsePrometheus, samplesOf, valueOf } from "./prometheus.ts";

const METRICS_TOKEN = "metrics-test-token";
const SOMA_TOKEN = "metrics-soma-token";
const PASSWORD = "metrics-test-password";
const PROJECTION = "example.greeter-projection";
const GREET = "example.v1.GreeterService/Greet";

type Scrape = Map<string, Family>;

async function scrape(url: string, headers: Record<string, string>): Promise<Scrape> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  assertEquals(response.status, 200, text);
  assert(response.headers.get("content-type")?.startsWith("text/plain; version=0.0.4"));
  return parsePrometheus(text);
}

/** Scrapes until `ready` holds (bounded). */
async function until(
  read: () => Promise<Scrape>,
  ready: (m: Scrape) => boolean,
  what: string,
): Promise<Scrape> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const metrics = await read();
    if (ready(metrics)) return metrics;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const lagsZero = (m: Scrape, name = "dendrite_processor_segment_lag_events") => {
  const lags = samplesOf(m, name, { processor: PROJECTION });
  return lags.length === 4 && lags.every((s) => s.value === 0);
};

Deno.test({
  name: "metrics: the API port's /metrics counts known traffic exactly; lag, errors and dead letters show",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "metrics-api-" });
    const program = new ProgramProcess("program", [], {
      DATA_DIR: dataDir,
      DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
      DENDRITE_ADMIN_PASSWORD: PASSWORD,
      // The projection on its own thread: its processors' metrics come over from the worker.
      PROJECTION_THREAD: "true",
      LOG_LEVEL: "info",
      NO_COLOR: "1",
      PORT: "0",
      AXON_PORT: "0",
      AXON_HTTP_PORT: "0",
      AXON_HOST: "127.0.0.1",
      AXON_TOKEN: SOMA_TOKEN,
      METRICS_TOKEN,
    });
    let soma: RawClient | undefined;
    try {
      const api = `http://127.0.0.1:${
        (await program.waitFor((r) => r.msg === "listening", "listening")).port
      }`;
      const somaListening = await program.waitFor((r) => r.msg === "soma listening", "soma listening");
      const somaHttp = `http://127.0.0.1:${somaListening.httpPort}`;
      const read = () => scrape(`${api}/metrics`, { authorization: `Bearer ${METRICS_TOKEN}` });
      const readSoma = () => scrape(`${somaHttp}/metrics`, { "AxonIQ-Access-Token": SOMA_TOKEN });

      // Access: the API port's needs METRICS_TOKEN, soma's needs soma's token.
      for (
        const [url, headers, status] of [
          [`${api}/metrics`, {}, 401],
          [`${api}/metrics`, { authorization: "Bearer wrong" }, 403],
          [`${somaHttp}/metrics`, {}, 401],
          [`${somaHttp}/metrics`, { "AxonIQ-Access-Token": "wrong" }, 403],
        ] as const
      ) {
        const response = await fetch(url, { headers });
        assertEquals(response.status, status, await response.text());
      }

      const transport = createConnectTransport({ baseUrl: api, httpVersion: "1.1" });
      const greeter = createClient(GreeterService, transport);
      const GREETS = 7;
      const STATUS_READS = 3;
      for (let i = 0; i < GREETS; i++) await greeter.greet({ message: `greeting ${i}` });
      for (let i = 0; i < STATUS_READS; i++) await greeter.getStatus({});
      const { token } = await createClient(AuthService, transport).login({
        identifier: "admin",
        password: PASSWORD,
      });
      await greeter.stop({}, { headers: { authorization: `Bearer ${token}` } });
      const refusal = await greeter.greet({ message: "while stopped" }).then(() => undefined, (e) => e);
      assert(refusal instanceof ConnectError, `expected a refusal, got ${refusal}`);
      const refusedStatus = Code[refusal.code].replace(
        /[A-Z]/g,
        (c, i) => (i === 0 ? "" : "_") + c.toLowerCase(),
      );

      // A live subscription is counted while it lasts.
      const watching = new AbortController();
      const watch = greeter.watchStatus({}, { signal: watching.signal })[Symbol.asyncIterator]();
      await watch.next();
      let m = await read();
      assertEquals(
        valueOf(m, "dendrite_subscription_queries_active", { query: "example.v1.GreeterStatusQuery" }),
        1,
      );
      watching.abort();
      await watch.next().catch(() => undefined);
      m = await until(
        read,
        (m) =>
          valueOf(m, "dendrite_subscription_queries_active", { query: "example.v1.GreeterStatusQuery" }) ===
            0,
        "the subscription to end",
      );

      assertEquals(valueOf(m, "dendrite_api_requests_total", { method: GREET, status: "ok" }), GREETS);
      assertEquals(
        valueOf(m, "dendrite_api_request_duration_seconds_count", { method: GREET, status: "ok" }),
        GREETS,
      );
      assertEquals(valueOf(m, "dendrite_api_requests_total", { method: GREET, status: refusedStatus }), 1);
      const getStatus = { method: "example.v1.GreeterService/GetStatus", status: "ok" };
      assertEquals(valueOf(m, "dendrite_api_requests_total", getStatus), STATUS_READS);
      const greet = { command: "example.v1.GreetCommand", outcome: "ok" };
      assertEquals(valueOf(m, "dendrite_commands_dispatched_total", greet), GREETS);
      assertEquals(valueOf(m, "dendrite_command_dispatch_duration_seconds_count", greet), GREETS);
      assertEquals(valueOf(m, "dendrite_commands_handled_total", greet), GREETS);
      assertEquals(valueOf(m, "dendrite_command_handling_duration_seconds_count", greet), GREETS);
      const rejected = { command: "example.v1.GreetCommand", outcome: "rejected" };
      assertEquals(valueOf(m, "dendrite_commands_dispatched_total", rejected), 1);
      const statusQuery = { query: "example.v1.GreeterStatusQuery", outcome: "ok" };
      // GetStatus three times, WatchStatus's initial result once.
      assertEquals(valueOf(m, "dendrite_queries_total", statusQuery), STATUS_READS + 1);
      assertEquals(valueOf(m, "dendrite_query_duration_seconds_count", statusQuery), STATUS_READS + 1);

      const status =
        await (await fetch(`${somaHttp}/v1/status`, { headers: { "AxonIQ-Access-Token": SOMA_TOKEN } }))
          .json() as { events: { lastToken: number } };
      const head = status.events.lastToken;
      m = await until(read, (m) => lagsZero(m), "the projection to catch up");
      assertEquals(valueOf(m, "dendrite_events_appended_total"), head + 1);
      for (const s of samplesOf(m, "dendrite_processor_segment_position", { processor: PROJECTION })) {
        assertEquals(s.value, head, `segment ${s.labels.segment}`);
      }
      assertEquals(valueOf(m, "dendrite_processor_errors_total", { processor: PROJECTION }), 0);
      assertEquals(valueOf(m, "dendrite_processor_dead_letters", { processor: PROJECTION }), 0);
      assertEquals(valueOf(m, "dendrite_processor_running", { processor: PROJECTION }), 1);
      // The program runs its projection on a thread of its own (PROJECTION_THREAD=true above).
      assertEquals(valueOf(m, "dendrite_projection_thread_running"), 1);
      assertEquals(valueOf(m, "dendrite_projection_thread_starts_total"), 1);

      // A poison event (a payload no decoder reads) in another aggregate: an error, then a dead letter.
      soma = new RawClient(Number(somaListening.port), { token: SOMA_TOKEN });
      await soma.clientStream(events.appendEvent, [
        create(EventSchema, {
          messageIdentifier: crypto.randomUUID(),
          aggregateIdentifier: "poison",
          aggregateSequenceNumber: 0n,
          aggregateType: "example.v1.Greeter",
          timestamp: BigInt(Date.now()),
          payload: {
            type: GreetedEventSchema.typeName,
            revision: "",
            data: new Uint8Array([0x0a, 0x7f, 0x01]),
          },
        }),
      ]);
      m = await until(
        read,
        (m) => valueOf(m, "dendrite_processor_dead_letters", { processor: PROJECTION }) === 1 && lagsZero(m),
        "the poison event to be dead-lettered",
      );
      assertEquals(valueOf(m, "dendrite_events_appended_total"), head + 2);
      assertEquals(valueOf(m, "dendrite_processor_dead_lettered_total", { processor: PROJECTION }), 1);
      assert(valueOf(m, "dendrite_processor_errors_total", { processor: PROJECTION })! >= 1);

      // soma's view of the same: commands it routed, its head, the processor and its dead letter.
      const s = await until(
        readSoma,
        (s) => lagsZero(s, "dendrite_soma_processor_segment_lag_events"),
        "soma",
      );
      assertEquals(valueOf(s, "dendrite_soma_commands_routed_total", greet), GREETS);
      assertEquals(valueOf(s, "dendrite_soma_commands_routed_total", rejected), 1);
      assertEquals(valueOf(s, "dendrite_soma_events_appended_total"), head + 2);
      assertEquals(valueOf(s, "dendrite_soma_processor_dead_letters", { processor: PROJECTION }), 1);
      assertEquals(
        valueOf(s, "dendrite_soma_queries_routed_total", {
          query: "example.v1.GreeterStatusQuery",
          outcome: "routed",
        }),
        STATUS_READS + 1,
      );
    } finally {
      soma?.close();
      await program.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
