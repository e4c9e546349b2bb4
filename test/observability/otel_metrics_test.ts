/**
 * With Deno's OpenTelemetry on (`OTEL_DENO=true`), the same instruments reach an OTLP receiver (here a test
 * receiver on an ephemeral port, OTLP over HTTP with JSON): commands counted and timed with their attributes,
 * observed gauges read at export time. With it off, nothing is exported.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/otel_metrics.ts", import.meta.url));
const COMMANDS = 5;

interface OtlpPoint {
  readonly attributes?: readonly { key: string; value: { stringValue?: string } }[];
  readonly asInt?: string | number;
  readonly asDouble?: number;
  readonly count?: string | number;
}
interface OtlpMetric {
  readonly name: string;
  readonly sum?: { dataPoints: OtlpPoint[] };
  readonly gauge?: { dataPoints: OtlpPoint[] };
  readonly histogram?: { dataPoints: OtlpPoint[] };
}
interface OtlpExport {
  readonly resourceMetrics: { scopeMetrics: { metrics: OtlpMetric[] }[] }[];
}

/** An OTLP/HTTP receiver that keeps every metrics export. */
function receiver() {
  const exports: OtlpExport[] = [];
  let wake = () => {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    if (new URL(request.url).pathname === "/v1/metrics") exports.push(await request.json());
    else await request.body?.cancel();
    wake();
    return new Response("{}", { headers: { "content-type": "application/json" } });
  });
  const metrics = () =>
    exports.flatMap((e) => e.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)));
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    metrics,
    /** Resolves once an export holds `ready(metrics)`; rejects after 20 s. */
    async until(ready: (metrics: OtlpMetric[]) => boolean): Promise<OtlpMetric[]> {
      const deadline = Date.now() + 20_000;
      while (!ready(metrics())) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error("No OTLP export with the expected metrics");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return metrics();
    },
    close: () => server.shutdown(),
  };
}

function attribute(point: OtlpPoint, key: string): string | undefined {
  return point.attributes?.find((a) => a.key === key)?.value.stringValue;
}

async function runFixture(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE, String(COMMANDS)],
    env: { ...env, OTEL_METRIC_EXPORT_INTERVAL: "200", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The fixture ended before it was ready: ${out}`);
    out += value;
  }
  return {
    async stop() {
      await child.stdin.close();
      await reader.cancel();
      return await child.status;
    },
  };
}

Deno.test("metrics reach an OTLP receiver when OTEL_DENO=true, and nothing is exported when it is off", async () => {
  const otlp = receiver();
  try {
    const off = await runFixture({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
    assertEquals((await off.stop()).code, 0);
    assertEquals(otlp.metrics().length, 0, "exported with OpenTelemetry off");

    const on = await runFixture({ OTEL_DENO: "true", OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
    try {
      const named = (metrics: OtlpMetric[], name: string) => metrics.filter((m) => m.name === name);
      const metrics = await otlp.until((metrics) =>
        named(metrics, "dendrite_commands_dispatched_total").length > 0 &&
        named(metrics, "dendrite_command_dispatch_duration_seconds").length > 0 &&
        named(metrics, "fixture_lag_events").length > 0
      );
      const counted = named(metrics, "dendrite_commands_dispatched_total").at(-1)!.sum!.dataPoints[0];
      assertEquals(Number(counted.asInt ?? counted.asDouble), COMMANDS);
      assertEquals(attribute(counted, "command"), "example.v1.StopCommand");
      assertEquals(attribute(counted, "outcome"), "ok");
      const timed =
        named(metrics, "dendrite_command_dispatch_duration_seconds").at(-1)!.histogram!.dataPoints[0];
      assertEquals(Number(timed.count), COMMANDS);
      const lag = named(metrics, "fixture_lag_events").at(-1)!.gauge!.dataPoints[0];
      assertEquals(Number(lag.asInt ?? lag.asDouble), 9);
      assertEquals(attribute(lag, "processor"), "fixture");
    } finally {
      assert((await on.stop()).success);
    }
  } finally {
    await otlp.close();
  }
});
