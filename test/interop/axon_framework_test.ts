/**
 * A plain Axon Framework 4.13 application (test/interop/axon-framework, built with Maven) against soma on
 * ephemeral ports, with an access token: aggregates, snapshots, tracking and pooled processors with segments,
 * processor control over soma's HTTP API (Java's HttpClient), point-to-point, scatter-gather, subscription and
 * streaming queries, exception details; cross-language: a Java query answered by a Deno handler, a Deno query
 * answered by Java, and Java tracking processors reading events the Deno greeter appended.
 *
 * Skips (with a message) when `java` or `mvn` is missing.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { assert, assertEquals } from "../assert.ts";
import { connectAxon } from "../../src/dendrite/axon/mod.ts";
import { exampleRegistry } from "../../src/example/wiring.ts";
import { startGreeter } from "../../src/example/greeter/mod.ts";
import { GreetCommandSchema, GreetedEventSchema } from "../../src/gen/example/v1/domain_pb.ts";
import {
  type QueryProviderInbound,
  type QueryProviderOutbound,
  QueryProviderOutboundSchema,
  QueryRequestSchema,
  QueryResponseSchema,
  QuerySubscriptionSchema,
} from "../../src/gen/axon/query_pb.ts";
import { collect, queries, RawClient } from "../soma/raw_client.ts";
import { available, buildJavaApp, JavaApp } from "./java_app.ts";
import { SomaProcess } from "./soma_process.ts";

const TOKEN = "interop-token";
const SCENARIOS = [
  "commands-aggregate",
  "snapshots",
  "tracking-processor",
  "pooled-processor",
  "point-to-point-query",
  "scatter-gather-query",
  "subscription-query",
  "streaming-query",
  "exception-details-command",
  "exception-details-query",
  "query-answered-by-deno",
  "events-from-deno",
  "processor-control-http",
  "event-scheduler",
  "command-routing-killed-handler",
  "soma-restart",
];

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const base64 = (data: Uint8Array) => btoa(String.fromCharCode(...data));

/** A Deno query handler for "deno.Echo" speaking Axon Framework's Jackson format (java.lang.String as JSON). */
function denoEcho(client: RawClient): { close(): void } {
  const call = client.bidi(queries.openStream);
  const send = (request: QueryProviderOutbound["request"]) =>
    call.write(create(QueryProviderOutboundSchema, { request }));
  send({
    case: "subscribe",
    value: create(QuerySubscriptionSchema, {
      messageId: crypto.randomUUID(),
      query: "deno.Echo",
      componentName: "deno-echo",
      clientId: "deno-echo-1",
    }),
  });
  send({
    case: "flowControl",
    value: { $typeName: "io.axoniq.axonserver.grpc.FlowControl", clientId: "deno-echo-1", permits: 100n },
  });
  call.on("data", (message: QueryProviderInbound) => {
    if (message.request.case !== "query") return;
    const query = message.request.value;
    const input = JSON.parse(text(query.payload?.data ?? new Uint8Array())) as string;
    send({
      case: "queryResponse",
      value: create(QueryResponseSchema, {
        messageIdentifier: crypto.randomUUID(),
        requestIdentifier: query.messageIdentifier,
        payload: { type: "java.lang.String", data: json(`${input.toUpperCase()} from deno`) },
      }),
    });
    send({
      case: "queryComplete",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.query.QueryComplete",
        messageId: "",
        requestId: query.messageIdentifier,
      },
    });
  });
  call.on("error", () => {});
  return { close: () => call.end() };
}

const ready = await available("java") && await available("mvn");
if (!ready) {
  console.log("SKIPPED axon-framework interop: `java` and `mvn` are needed (Java 17+, Maven 3.8+).");
}

Deno.test({
  name: "axon framework interop: a plain Axon Framework 4.13 app runs its scenarios against soma",
  ignore: !ready,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const classpath = await buildJavaApp();
    const dataDir = await Deno.makeTempDir({ prefix: "soma-interop-" });
    const registry = exampleRegistry();
    let soma = await SomaProcess.start({ dataDir, token: TOKEN });
    const raw = new RawClient(soma.port, { token: TOKEN });
    const deno = await connectAxon(
      {
        address: `127.0.0.1:${soma.port}`,
        componentName: "deno-greeter",
        token: TOKEN,
        onStateChange: () => {},
      },
      registry,
      AbortSignal.timeout(20_000),
    );
    const echo = denoEcho(raw);
    let java: JavaApp | undefined;
    let handlerB: JavaApp | undefined;
    try {
      const greeter = await startGreeter({ ...deno, registry }, { command: true, projection: false });
      const greetings = ["hello from deno", "grüße aus deno"];
      for (const message of greetings) {
        await deno.commandBus.dispatch(create(GreetCommandSchema, { greeterId: "interop", message }));
      }
      await greeter.stop();
      const revision = registry.revision(GreetedEventSchema.typeName);
      const denoEvents = greetings.map((message) =>
        [
          GreetedEventSchema.typeName,
          revision,
          base64(toBinary(GreetedEventSchema, create(GreetedEventSchema, { greeterId: "interop", message }))),
        ].join("|")
      );

      const env = {
        SOMA_PORT: String(soma.port),
        SOMA_HTTP_PORT: String(soma.httpPort),
        SOMA_TOKEN: TOKEN,
        DENO_EVENTS: denoEvents.join(","),
      };
      // Process B (a second handler of Ping/Hold) starts beside the app; it is killed once it holds a command.
      const b = handlerB = new JavaApp(classpath, env, ["handler"]);
      const app = java = new JavaApp(classpath, env);
      const failure = (error: unknown) => error instanceof Error ? error : new Error(String(error));
      const killedB = b.waitFor("HOLDING", 110_000).then(() => b.kill()).then(() => undefined, failure);
      // soma is killed (-9) when the app asks, and started again on the same ports and data dir.
      const restarted = app.waitFor("KILL-SOMA", 110_000).then(async () => {
        await soma.kill();
        soma = await SomaProcess.start({ dataDir, token: TOKEN, port: soma.port, httpPort: soma.httpPort });
        await app.send("SOMA-BACK");
      }).then(() => undefined, failure);
      await app.waitFor("READY", 120_000);
      for (const error of [await killedB, await restarted]) if (error) throw error;

      // Deno asks, Java answers (Axon Framework's Jackson format: java.lang.String as JSON).
      const responses = await collect(raw.serverStream(
        queries.query,
        create(QueryRequestSchema, {
          messageIdentifier: crypto.randomUUID(),
          query: "java.Echo",
          payload: { type: "java.lang.String", data: json("ping") },
          responseType: {
            type: "org.axonframework.messaging.responsetypes.InstanceResponseType",
            data: json({ expectedResponseType: "java.lang.String" }),
          },
          clientId: "deno-caller",
          componentName: "deno-caller",
        }),
      ));
      const answered = responses.find((r) => r.errorCode === "");
      assert(
        answered,
        `Java did not answer: ${JSON.stringify(responses.map((r) => r.errorMessage?.message))}`,
      );
      assertEquals([answered.payload?.type, text(answered.payload?.data ?? new Uint8Array())], [
        "java.lang.String",
        JSON.stringify("PING from java"),
      ]);

      const results = java.results();
      const failed = SCENARIOS.filter((name) => !results.get(name)?.pass)
        .map((name) => `${name}: ${results.get(name)?.detail ?? "no result line"}`);
      assertEquals(failed, [], `Java scenarios failed; output tail:\n${java.tail()}`);
    } finally {
      await handlerB?.stop();
      await java?.stop();
      echo.close();
      raw.close();
      await deno.close();
      await soma.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
