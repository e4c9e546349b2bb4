/**
 * A plain Axon Framework 4.13 application (test/interop/axon-framework, built with Maven) against soma on
 * ephemeral ports, with an access token: aggregates, snapshots, tracking and pooled processors with segments,
 * processor control over soma's HTTP API (Java's HttpClient), point-to-point, scatter-gather, subscription and
 * streaming queries, exception details; cross-language: a Java query answered by a Deno handler, a Deno query
 * answered by Java, a Java streaming query answered by the dendrite connector and a connector streaming query
 * answered by Java (one response per page: the connector's PublisherResponseType), and Java tracking processors
 * reading events the Deno greeter appended. Processes die: soma runs as its own process (SIGKILLed and restarted
 * on the same ports when the app prints KILL-SOMA), and a second JVM handling the same commands is SIGKILLed
 * while it holds one (HOLDING).
 *
 * Skips (with a message) when `java` or `mvn` is missing.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { assert, assertEquals } from "../assert.ts";
import { connectAxon } from "../../src/dendrite/axon/mod.ts";
import { exampleRegistry } from "../../src/example/wiring.ts";
import { startGreeter } from "../../src/example/greeter/mod.ts";
import {
  GreetCommandSchema,
  GreetedEventSchema,
  type GreetingList,
  GreetingListSchema,
  GreetingsQuerySchema,
  SearchQuerySchema,
} from "../../src/gen/example/v1/domain_pb.ts";
import { GreetingSchema } from "../../src/gen/example/v1/greeter_pb.ts";
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
  "streaming-query-answered-by-deno",
  "streaming-permits-deno-handler",
  "events-from-deno",
  "processor-control-http",
  "event-scheduler",
  "command-routing-killed-handler",
  "soma-restart",
];

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const base64 = (data: Uint8Array) => btoa(String.fromCharCode(...data));
const page = (message: string) =>
  create(GreetingListSchema, { greetings: [create(GreetingSchema, { message })] });
const pageBytes = (message: string) => base64(toBinary(GreetingListSchema, page(message)));
const MANY = 1_000;
const pageText = (query: string, i: number) =>
  query === "many" ? `many-${i}-${"x".repeat(16_384)}` : `deno-${i}`;

/** Polls `read` until its value stays the same for a second (within 20 s); resolves with that value. */
async function settled(read: () => number): Promise<number> {
  const deadline = Date.now() + 20_000;
  let value = read();
  let since = Date.now();
  while (Date.now() - since < 1_000) {
    if (Date.now() > deadline) throw new Error(`still changing after 20 s (at ${read()})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (read() !== value) [value, since] = [read(), Date.now()];
  }
  return value;
}

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
    // Waiters for the connector's next "connected" (it reconnects with growing delays after soma's restart).
    const onConnected: (() => void)[] = [];
    const deno = await connectAxon(
      {
        address: `127.0.0.1:${soma.port}`,
        componentName: "deno-greeter",
        token: TOKEN,
        onStateChange: (state) => {
          if (state === "connected") { for (const resolve of onConnected.splice(0)) resolve(); }
        },
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

      // A Java streaming query answered by this connector (300 pages).
      await deno.queryBus.subscribe(
        SearchQuerySchema,
        ({ payload }) =>
          Promise.resolve(Array.from({ length: payload.limit }, (_, i) => page(pageText(payload.query, i)))),
      );
      // What this connector's handler sends of the "many" stream: it serializes each response as it sends it.
      const encode = registry.encode.bind(registry);
      let sentMany = 0;
      registry.encode = (message) => {
        if (message.$typeName === GreetingListSchema.typeName) {
          if ((message as GreetingList).greetings[0]?.message.startsWith("many-")) sentMany++;
        }
        return encode(message);
      };
      const search = create(SearchQuerySchema, { limit: 300 });
      const env = {
        DENO_SEARCH: [
          SearchQuerySchema.typeName,
          registry.revision(SearchQuerySchema.typeName),
          base64(
            toBinary(SearchQuerySchema, search),
          ),
        ].join("|"),
        DENO_MANY: [
          SearchQuerySchema.typeName,
          registry.revision(SearchQuerySchema.typeName),
          base64(
            toBinary(SearchQuerySchema, create(SearchQuerySchema, { query: "many", limit: MANY })),
          ),
        ].join("|"),
        DENO_FIRST: pageBytes("deno-0"),
        DENO_LAST: pageBytes("deno-299"),
        SOMA_PORT: String(soma.port),
        SOMA_HTTP_PORT: String(soma.httpPort),
        SOMA_TOKEN: TOKEN,
        DENO_EVENTS: denoEvents.join(","),
      };
      // Process B (a second handler of Ping/Hold) starts beside the app; it is killed once it holds a command.
      const b = handlerB = new JavaApp(classpath, env, ["handler"]);
      const app = java = new JavaApp(classpath, env);
      const failure = (error: unknown) => error instanceof Error ? error : new Error(String(error));
      const killedB = b.waitFor("HOLDING", 240_000).then(() => b.kill()).then(() => undefined, failure);
      // soma is killed (-9) when the app asks, and started again on the same ports and data dir.
      const restarted = app.waitFor("KILL-SOMA", 240_000).then(async () => {
        await soma.kill();
        soma = await SomaProcess.start({ dataDir, token: TOKEN, port: soma.port, httpPort: soma.httpPort });
        await app.send("SOMA-BACK");
      }).then(() => undefined, failure);
      // Java takes one page of the "many" stream and pauses: count what the handler sent until it stops.
      let sentWhilePaused = -1;
      const counted = app.waitFor("STREAM-PAUSED", 240_000).then(async () => {
        sentWhilePaused = await settled(() => sentMany);
        await app.send("COUNTED");
      }).then(() => undefined, failure);
      await app.waitFor("READY", 240_000);
      for (const error of [await killedB, await restarted, await counted]) {
        if (error) {
          const results = app.lines.filter((line) => line.startsWith("RESULT")).join("\n");
          throw new Error(`${error.message}\nThe app's results so far:\n${results}`);
        }
      }
      // soma passes permits on to the handler only as the caller's HTTP/2 window takes the pages (docs/soma.md,
      // "Streaming queries follow the caller's flow control"): the paused Java caller holds the handler back. How
      // far depends on grpc-java's window (auto-tuned from its bandwidth-delay estimate) and Axon's buffers: 415
      // of 1000 pages of 16 KiB measured; all 1000 before.
      console.log(
        `streaming permits: the Deno handler sent ${sentWhilePaused} of ${MANY} to a paused Java caller`,
      );
      assert(sentWhilePaused < MANY, `the Deno handler sent all ${MANY} pages to a paused Java caller`);
      assert(sentWhilePaused >= 1, "the Deno handler sent nothing to the paused Java caller");

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

      // A Deno streaming query (the dendrite connector) answered by a Java handler: one response per page, in
      // order (the connector's PublisherResponseType; without it Axon Framework answers one list). The connector
      // lost soma at its restart: wait (bounded) until it is back, as a caller would.
      if (!deno.connection.connected) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error("the connector did not reconnect within 30 s")),
            30_000,
          );
          onConnected.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const javaPages: string[] = [];
      for await (
        const response of deno.queryBus.query(create(GreetingsQuerySchema), {
          streaming: true,
          timeoutMs: 20_000,
        })
      ) {
        assertEquals(response.$typeName, GreetingListSchema.typeName);
        javaPages.push((response as GreetingList).greetings[0]?.message ?? "");
      }
      assertEquals(javaPages, Array.from({ length: 50 }, (_, i) => `java-${i}`));

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
