/**
 * The default mode traced: one process (soma in-process, every role) with `OTEL_DENO=true`. A Greet over
 * HTTP/1.1 (Connect JSON) with a caller's `traceparent` gives the same trace as in split mode: RPC → dispatch →
 * handle → decide and append, and the projection's event span linked to the command handling span. A refused
 * command marks its spans as failed. The request's log line names its trace.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { ProgramProcess } from "../roles/processes.ts";
import { OtlpReceiver, type ReceivedSpan } from "./otlp_receiver.ts";

const hex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test({
  name: "tracing: embedded, a Greet over HTTP/1.1 continues the caller's trace down to the projection's link",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const receiver = new OtlpReceiver();
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-trace-embedded-" });
    const program = new ProgramProcess("program", [], {
      DATA_DIR: dataDir,
      DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
      DENDRITE_ADMIN_PASSWORD: "trace-test-password",
      LOG_LEVEL: "info",
      NO_COLOR: "1",
      PORT: "0",
      AXON_PORT: "0",
      AXON_HTTP_PORT: "0",
      AXON_HOST: "127.0.0.1",
      ...receiver.env("embedded"),
    });
    try {
      const { port } = await program.waitFor((r) => r.msg === "listening", "listening");
      const caller = { traceId: hex(16), spanId: hex(8) };
      const response = await fetch(`http://127.0.0.1:${port}/example.v1.GreeterService/Greet`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          traceparent: `00-${caller.traceId}-${caller.spanId}-01`,
        },
        body: JSON.stringify({ message: "embedded and traced" }),
      });
      assertEquals(response.status, 200, await response.clone().text());
      await response.body?.cancel();

      const named = (name: string) => (spans: readonly ReceivedSpan[]) =>
        spans.find((s) => s.traceId === caller.traceId && s.name === name);
      const rpc = await receiver.waitFor(named("example.v1.GreeterService/Greet"), "the RPC span");
      // The front door (Deno.serve) answers Connect JSON; it does not report the HTTP version.
      assertEquals([rpc.parentSpanId, rpc.attributes["rpc.system"]], [caller.spanId, "connect_rpc"]);
      const logged = await program.waitFor(
        (r) => r.msg === "request" && r.path === "/example.v1.GreeterService/Greet",
        "the request's log line",
      );
      assertEquals(logged.trace_id, caller.traceId);
      const dispatch = await receiver.waitFor(named("dispatch example.v1.GreetCommand"), "the dispatch span");
      assertEquals(dispatch.parentSpanId, rpc.spanId);
      const handle = await receiver.waitFor(named("handle example.v1.GreetCommand"), "the handling span");
      assertEquals(handle.parentSpanId, dispatch.spanId);
      const append = await receiver.waitFor(named("append example.v1.Greeter"), "the append span");
      assertEquals(append.parentSpanId, handle.spanId);
      const process = await receiver.waitFor(
        (spans) =>
          spans.find((s) =>
            s.name === "process example.v1.GreetedEvent" && s.links.some((l) => l.spanId === handle.spanId)
          ),
        "the projection's span linked to the command",
      );
      assert(process.traceId !== caller.traceId, "the processor's span is in its own trace");

      // A refused command: the handling and dispatch spans say so (status error, the exception recorded).
      const refused = { traceId: hex(16), spanId: hex(8) };
      const refusal = await fetch(`http://127.0.0.1:${port}/example.v1.GreeterService/Greet`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          traceparent: `00-${refused.traceId}-${refused.spanId}-01`,
        },
        body: JSON.stringify({ message: "x".repeat(1_001) }),
      });
      assertEquals(refusal.status, 400, await refusal.clone().text());
      await refusal.body?.cancel();
      for (const name of ["handle example.v1.GreetCommand", "dispatch example.v1.GreetCommand"]) {
        const span = await receiver.waitFor(
          (spans) => spans.find((s) => s.traceId === refused.traceId && s.name === name),
          name,
        );
        assertEquals(span.status, 2, `${name} has status error`);
      }
    } finally {
      const status = await program.stop();
      await receiver.close();
      await Deno.remove(dataDir, { recursive: true });
      assertEquals(status.code, 0, program.tail());
    }
  },
});
