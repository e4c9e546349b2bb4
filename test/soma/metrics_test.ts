/**
 * soma's `/metrics` (soma as a child process) after known traffic from clients over real gRPC: commands routed by
 * outcome, queries routed, subscription queries open, clients and handlers, events appended (soma's head), and a
 * processor a client reports, with its lag going from behind to 0. The text passes the strict parser; without
 * soma's token `/metrics` is refused.
 */
import { create } from "@bufbuild/protobuf";
import { type AxonConnector, connectAxon } from "../../src/dendrite/axon/mod.ts";
import { DomainError, queryOne } from "../../src/dendrite/mod.ts";
import { exampleRegistry } from "../../src/example/wiring.ts";
import { EventSchema } from "../../src/gen/axon/event_pb.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { type Family, parsePrometheus, valueOf } from "../observability/prometheus.ts";
import { processorClient } from "./processor_client.ts";
import { events, RawClient, spawnSoma } from "./raw_client.ts";

const STOP = "example.v1.StopCommand";
const STATUS_QUERY = "example.v1.GreeterStatusQuery";

function connect(port: number, token: string, clientId: string): Promise<AxonConnector> {
  return connectAxon(
    { address: `127.0.0.1:${port}`, componentName: "metrics-test", clientId, token, onStateChange: () => {} },
    exampleRegistry(),
    AbortSignal.timeout(20_000),
  );
}

Deno.test({
  name: "soma /metrics: commands, queries, subscriptions, events and a reported processor from gRPC clients",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "soma-metrics-" });
    const soma = await spawnSoma(dir);
    const opened: { close(): unknown }[] = [];
    try {
      const url = `http://127.0.0.1:${soma.httpPort}/metrics`;
      const refused = await fetch(url);
      assertEquals(refused.status, 401, await refused.text());
      const read = async () => {
        const response = await fetch(url, { headers: { "AxonIQ-Access-Token": soma.token } });
        const text = await response.text();
        assertEquals(response.status, 200, text);
        return parsePrometheus(text);
      };
      const until = async (ready: (m: Map<string, Family>) => boolean, what: string) => {
        const deadline = Date.now() + 15_000;
        for (let m = await read();; m = await read()) {
          if (ready(m)) return m;
          if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };

      const handler = await connect(soma.port, soma.token, "handler");
      opened.push(handler);
      const sender = await connect(soma.port, soma.token, "sender");
      opened.push(sender);
      await handler.commandBus.subscribe(domain.StopCommandSchema, ({ payload }) => {
        if (payload.greeterId === "refuse") return Promise.reject(new DomainError("EX001", "Not recording"));
        return Promise.resolve(undefined);
      });
      await handler.queryBus.subscribe(
        domain.GreeterStatusQuerySchema,
        () => Promise.resolve(create(domain.GreeterStatusSchema, { recording: true })),
      );
      const COMMANDS = 6;
      const QUERIES = 4;
      for (let i = 0; i < COMMANDS; i++) {
        await sender.commandBus.dispatch(create(domain.StopCommandSchema, { greeterId: `g${i}` }));
      }
      const refusal = await sender.commandBus.dispatch(
        create(domain.StopCommandSchema, { greeterId: "refuse" }),
      )
        .then(() => undefined, (e) => e);
      assert(refusal instanceof Error, "the refusal came back");
      for (let i = 0; i < QUERIES; i++) {
        await queryOne(
          sender.queryBus,
          create(domain.GreeterStatusQuerySchema, {}),
          domain.GreeterStatusSchema,
        );
      }
      const subscription = await sender.queryBus.subscriptionQuery(
        create(domain.GreeterStatusQuerySchema, {}),
      );
      opened.push(subscription);

      const raw = new RawClient(soma.port, { token: soma.token });
      opened.push(raw);
      const EVENTS = 3;
      await raw.clientStream(
        events.appendEvent,
        Array.from({ length: EVENTS }, (_, i) =>
          create(EventSchema, {
            messageIdentifier: crypto.randomUUID(),
            aggregateIdentifier: "main",
            aggregateSequenceNumber: BigInt(i),
            aggregateType: "example.v1.Greeter",
            timestamp: BigInt(Date.now()),
            payload: exampleRegistry().encode(create(domain.GreetedEventSchema, { message: `m${i}` })),
          })),
      );
      const worker = await processorClient(soma.port, {
        token: soma.token,
        clientId: "projection",
        processorName: "metrics-projection",
      });
      opened.push(worker);
      await worker.report(true, [{ segment: 0, onePartOf: 1, tokenPosition: 0 }]);

      const segment = { processor: "metrics-projection", client: "projection", segment: "0" };
      let m = await until(
        (m) => valueOf(m, "dendrite_soma_subscription_queries") === 1,
        "the subscription query",
      );
      assertEquals(
        valueOf(m, "dendrite_soma_commands_routed_total", { command: STOP, outcome: "ok" }),
        COMMANDS,
      );
      assertEquals(
        valueOf(m, "dendrite_soma_commands_routed_total", { command: STOP, outcome: "rejected" }),
        1,
      );
      // The queries, and the subscription query's initial result.
      assertEquals(
        valueOf(m, "dendrite_soma_queries_routed_total", { query: STATUS_QUERY, outcome: "routed" }),
        QUERIES + 1,
      );
      assertEquals(valueOf(m, "dendrite_soma_events_appended_total"), EVENTS);
      assertEquals(valueOf(m, "dendrite_soma_clients"), 3);
      assertEquals(valueOf(m, "dendrite_soma_handlers", { kind: "command" }), 1);
      assertEquals(valueOf(m, "dendrite_soma_handlers", { kind: "query" }), 1);
      assertEquals(valueOf(m, "dendrite_soma_processor_segment_position", segment), 0);
      assertEquals(valueOf(m, "dendrite_soma_processor_segment_lag_events", segment), EVENTS - 1);
      assertEquals(valueOf(m, "dendrite_soma_processor_segment_failing", segment), 0);

      await worker.report(true, [{ segment: 0, onePartOf: 1, tokenPosition: EVENTS - 1 }]);
      m = await read();
      assertEquals(valueOf(m, "dendrite_soma_processor_segment_lag_events", segment), 0);
      subscription.close();
      await until(
        (m) => valueOf(m, "dendrite_soma_subscription_queries") === 0,
        "the end of the subscription",
      );
    } finally {
      for (const resource of opened.reverse()) await resource.close();
      soma.process.kill("SIGTERM");
      await soma.process.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
