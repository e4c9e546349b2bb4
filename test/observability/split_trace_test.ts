/**
 * One trace across processes: soma, command, projection and api run as four processes with Deno's built-in
 * OpenTelemetry on (`OTEL_DENO=true`), exporting OTLP/JSON to a test receiver. A Greet made through the api with a
 * caller's `traceparent` yields: the RPC span continuing the caller's trace, the command dispatch under it, the
 * command handling in the command process under the dispatch (its context crossed soma in the command's
 * metadata), decide and append under the handling; in the projection process, the event's handling in the
 * processor's own trace with a LINK to the command handling span, and the subscription update under it. A Search
 * is traced from the api's query span to the projection's query handler.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { join } from "node:path";
import { assert, assertEquals, eventually } from "../assert.ts";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { type LogRecord, ProgramProcess } from "../roles/processes.ts";
import { OtlpReceiver, type ReceivedSpan, SpanKinds } from "./otlp_receiver.ts";

const hex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

/** The one span matching `where` (undefined while there is none; fails when there are several). */
function one(
  spans: readonly ReceivedSpan[],
  where: (span: ReceivedSpan) => boolean,
): ReceivedSpan | undefined {
  const found = spans.filter(where);
  assert(found.length <= 1, `several spans match: ${JSON.stringify(found)}`);
  return found[0];
}

Deno.test({
  name:
    "tracing: a Greet and a Search through the api in split mode form one trace with the right parents and links",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const receiver = new OtlpReceiver();
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-trace-" });
    const base = {
      DATA_DIR: dataDir,
      DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
      DENDRITE_ADMIN_PASSWORD: "trace-test-password",
      LOG_LEVEL: "info",
      NO_COLOR: "1",
    };
    const processes: ProgramProcess[] = [];
    let sessions: Http2SessionManager | undefined;
    const start = (role: string, env: Record<string, string> = {}) => {
      const process = new ProgramProcess(role, [`--role=${role}`], {
        ...base,
        ...receiver.env(role),
        ...env,
      });
      processes.push(process);
      return process;
    };
    try {
      const soma = start("soma", { AXON_PORT: "0", AXON_HTTP_PORT: "0", AXON_HOST: "127.0.0.1" });
      const listening = await soma.waitFor((r) => r.msg === "soma listening", "soma listening");
      const joined = { AXON_SERVER: `127.0.0.1:${listening.port}` };
      const connected = (r: LogRecord) => r.msg === "connected to the Axon server";
      const command = start("command", joined);
      const projection = start("projection", joined);
      const api = start("api", { ...joined, PORT: "0" });
      const apiUp = await api.waitFor((r) => r.msg === "listening", "the api listening");
      await Promise.all([
        command.waitFor(connected, "a connection"),
        projection.waitFor(connected, "a connection"),
      ]);
      const baseUrl = `http://127.0.0.1:${apiUp.port}`;
      sessions = new Http2SessionManager(baseUrl);
      const client = createClient(
        GreeterService,
        createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: sessions }),
      );
      // Warm up: the command process may still be subscribing its handlers.
      await eventually(
        async () => {
          try {
            return (await client.greet({ message: "warm-up" }, { timeoutMs: 5_000 })).greetingId !== "";
          } catch {
            return false;
          }
        },
        30_000,
        "a first greeting",
      );

      // A live Greetings subscription, so the projection publishes an update for the traced greeting.
      const live = client.greetings({}, { signal: AbortSignal.timeout(30_000) })[Symbol.asyncIterator]();
      const caller = { traceId: hex(16), spanId: hex(8) };
      const traceparent = `00-${caller.traceId}-${caller.spanId}-01`;
      const { greetingId } = await client.greet({ message: "traced" }, { headers: { traceparent } });
      for (
        let next = await live.next();
        !next.done && next.value.id !== greetingId;
        next = await live.next()
      );
      await live.return?.();

      const inTrace = (span: { readonly traceId: string }) => span.traceId === caller.traceId;
      const rpc = await receiver.waitFor(
        (spans) => one(spans, (s) => inTrace(s) && s.name === "example.v1.GreeterService/Greet"),
        "Greet RPC span",
      );
      assertEquals([rpc.service, rpc.kind, rpc.parentSpanId], ["api", SpanKinds.server, caller.spanId]);
      assertEquals(rpc.attributes["rpc.method"], "Greet");
      const dispatch = await receiver.waitFor(
        (spans) => one(spans, (s) => inTrace(s) && s.name === "dispatch example.v1.GreetCommand"),
        "command dispatch span",
      );
      assertEquals([dispatch.service, dispatch.kind, dispatch.parentSpanId], [
        "api",
        SpanKinds.client,
        rpc.spanId,
      ]);
      const handle = await receiver.waitFor(
        (spans) => one(spans, (s) => inTrace(s) && s.name === "handle example.v1.GreetCommand"),
        "command handling span",
      );
      assertEquals([handle.service, handle.kind, handle.parentSpanId], [
        "command",
        SpanKinds.server,
        dispatch.spanId,
      ]);
      for (const name of ["decide example.v1.GreetCommand", "append example.v1.Greeter"]) {
        const span = await receiver.waitFor(
          (spans) => one(spans, (s) => inTrace(s) && s.name === name),
          name,
        );
        assertEquals([span.service, span.parentSpanId], ["command", handle.spanId], name);
      }

      // The projection: the event's handling in its own trace, linked to the command handling span.
      const process = await receiver.waitFor(
        (spans) =>
          one(spans, (s) => s.name === "process example.v1.GreetedEvent" && s.links.some((l) => inTrace(l))),
        "the projection's span of the traced event",
      );
      assertEquals(process.service, "projection");
      assertEquals(process.kind, SpanKinds.consumer);
      assertEquals(process.links, [{ traceId: caller.traceId, spanId: handle.spanId }]);
      assert(process.traceId !== caller.traceId, "the processor's span starts its own trace");
      const batch = await receiver.waitFor(
        (spans) => one(spans, (s) => s.spanId === process.parentSpanId),
        "the processor's batch span",
      );
      assertEquals([batch.name, batch.parentSpanId], ["batch example.greeter-projection", ""]);
      const update = await receiver.waitFor(
        (spans) =>
          spans.find((s) => s.traceId === process.traceId && s.name === "update example.v1.GreetingsQuery"),
        "the subscription update span",
      );
      assertEquals(update.service, "projection");

      // A query: the api's query span → the projection's query handler span, one trace.
      const searchTrace = { traceId: hex(16), spanId: hex(8) };
      const found: string[] = [];
      const headers = { traceparent: `00-${searchTrace.traceId}-${searchTrace.spanId}-01` };
      for await (const greeting of client.search({ query: "traced" }, { headers })) {
        found.push(greeting.message);
      }
      assertEquals(found, ["traced"]);
      const query = await receiver.waitFor(
        (spans) =>
          one(spans, (s) => s.traceId === searchTrace.traceId && s.name === "query example.v1.SearchQuery"),
        "the query span",
      );
      const handled = await receiver.waitFor(
        (spans) =>
          one(spans, (s) => s.traceId === searchTrace.traceId && s.name === "handle example.v1.SearchQuery"),
        "the query handling span",
      );
      assertEquals([query.service, handled.service, handled.parentSpanId], [
        "api",
        "projection",
        query.spanId,
      ]);
    } finally {
      sessions?.abort();
      const statuses = await Promise.all(processes.map((p) => p.stop()));
      await receiver.close();
      await Deno.remove(dataDir, { recursive: true });
      for (const [i, status] of statuses.entries()) {
        assertEquals(
          status.code,
          0,
          `${processes[i].name} exited with ${status.code}: ${processes[i].tail()}`,
        );
      }
    }
  },
});
