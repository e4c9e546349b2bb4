/**
 * Trace context in message metadata, on in-process traced buses with Deno's OpenTelemetry really on (the fixture
 * runs in its own process with `OTEL_DENO=true`, exporting to a test OTLP receiver): a command's and a query's
 * metadata carry the sending span as `traceparent` (and its trace id as `trace_id`), events carry the command
 * handling span; a malformed `traceparent` from elsewhere is ignored (the handling starts a new trace, no error).
 * Without `OTEL_DENO` tracing is off and metadata carries nothing.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import type { Metadata } from "../../src/dendrite/mod.ts";
import { OtlpReceiver, type ReceivedSpan, SpanKinds } from "./otlp_receiver.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/traced_bus.ts", import.meta.url));

interface Seen {
  readonly enabled: boolean;
  readonly query?: Metadata;
  readonly events: readonly Metadata[];
  readonly malformedParsed: unknown;
}

async function runFixture(env: Record<string, string>): Promise<Seen> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert(output.success, `the fixture failed: ${new TextDecoder().decode(output.stderr)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Seen;
}

const traceparentOf = (span: ReceivedSpan) => `00-${span.traceId}-${span.spanId}-01`;

Deno.test("tracing: metadata carries traceparent and trace_id; a malformed traceparent is ignored", async () => {
  const receiver = new OtlpReceiver();
  try {
    const seen = await runFixture({ ...receiver.env("unit"), OTEL_BSP_SCHEDULE_DELAY: "50" });
    assert(seen.enabled, "tracing is on with OTEL_DENO=true");
    const named = (name: string) => (spans: readonly ReceivedSpan[]) => {
      const found = spans.filter((s) => s.name === name);
      return found.length > 0 ? found : undefined;
    };

    // The query: its metadata names the query span; the handler's span is its child.
    const [query] = await receiver.waitFor(named("query example.v1.GreeterStatusQuery"), "the query span");
    assertEquals(query.kind, SpanKinds.client);
    assertEquals(seen.query?.traceparent, traceparentOf(query));
    assertEquals(seen.query?.trace_id, query.traceId);
    const [queryHandling] = await receiver.waitFor(
      named("handle example.v1.GreeterStatusQuery"),
      "its handling",
    );
    assertEquals([queryHandling.traceId, queryHandling.parentSpanId], [query.traceId, query.spanId]);

    // The traced command: dispatch → handle; its event carries the handling span.
    const [dispatch] = await receiver.waitFor(named("dispatch example.v1.GreetCommand"), "the dispatch span");
    const handles = await receiver.waitFor(
      (spans) => (named("handle example.v1.GreetCommand")(spans)?.length ?? 0) >= 2 ? spans : undefined,
      "both command handling spans",
    ).then((spans) => spans.filter((s) => s.name === "handle example.v1.GreetCommand"));
    const traced = handles.find((s) => s.attributes["dendrite.correlation_id"] === "c-1")!;
    assertEquals([traced.traceId, traced.parentSpanId], [dispatch.traceId, dispatch.spanId]);
    assertEquals(seen.events[0].traceparent, traceparentOf(traced));
    assertEquals(seen.events[0].trace_id, traced.traceId);
    assertEquals(seen.events[0].correlation_id, "c-1");

    // The malformed traceparent: ignored, the handling is a root span, its event names that span instead.
    const fresh = handles.find((s) => s.attributes["dendrite.correlation_id"] === "c-2")!;
    assertEquals(fresh.parentSpanId, "");
    assertEquals(fresh.status, 0);
    assertEquals(seen.events[1].traceparent, traceparentOf(fresh));
    assertEquals(seen.malformedParsed, null);
  } finally {
    await receiver.close();
  }
});

Deno.test("tracing: off by default, metadata carries no trace context", async () => {
  const seen = await runFixture({ OTEL_DENO: "false" });
  assertEquals(seen.enabled, false);
  assertEquals(seen.query, {});
  // Metadata is copied as it came: nothing added, a caller's own traceparent passed on untouched.
  assertEquals(seen.events.map((m) => `${m.traceparent ?? "-"} ${m.trace_id ?? "-"}`), [
    "- -",
    "00-not-a-trace-context-01 -",
  ]);
});
