/**
 * The connector survives a server restart: calls fail fast while the server is gone, then the connection comes
 * back by itself and every handler is subscribed again. Compared with the Java connector (axonserver-connector-java
 * 2025.2, seen in the interop suite's log): it retries (fixed 2 s there, doubling from 250 ms here), resubscribes
 * command and query handlers, and Axon Framework's processors reopen their streams from their tokens and report
 * to the server again; the second test holds the TypeScript connector to each of these after a SIGKILL of soma.
 */
import { create } from "@bufbuild/protobuf";
import { assert, assertEquals, assertRejects, eventually } from "../assert.ts";
import { whenChanged } from "../processing/changes.ts";
import { type Soma, startSoma } from "../../src/soma/mod.ts";
import * as domain from "../../src/gen/example/v1/domain_pb.ts";
import { AXON_SERVER, connector, exampleRegistry } from "./fixture.ts";
import { connectAxon } from "../../src/dendrite/axon/mod.ts";
import {
  defineProjection,
  InMemoryDeadLetterQueue,
  InMemoryTokenStore,
  MessageRegistry,
  queryOne,
  TrackingProcessor,
} from "../../src/dendrite/mod.ts";
import { startGreeter } from "../../src/example/greeter/mod.ts";
import { SomaProcess } from "../interop/soma_process.ts";

Deno.test({
  name: "connector → soma: reconnects after a server restart and resubscribes its handlers",
  ignore: Boolean(AXON_SERVER),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "soma-restart-" });
    let soma: Soma = await startSoma({ dataDir, port: 0, httpPort: false, registry: exampleRegistry() });
    const port = soma.port;
    const server = { address: `127.0.0.1:${port}`, close: () => soma.close() };
    const handler = await connector(server, "handler");
    const dispatcher = await connector(server, "dispatcher");
    try {
      let handled = 0;
      await handler.commandBus.subscribe(domain.StopCommandSchema, () => {
        handled++;
        return Promise.resolve(create(domain.RecordingStateSchema, { recording: false }));
      });
      const stop = () => dispatcher.commandBus.dispatch(create(domain.StopCommandSchema, { greeterId: "g" }));
      await stop();
      assertEquals(handled, 1);

      await soma.close();
      const started = performance.now();
      await assertRejects(() => stop());
      assert(performance.now() - started < 5_000, "a call fails promptly while the server is gone");

      soma = await startSoma({ dataDir, port, httpPort: false, registry: exampleRegistry() });
      await eventually(
        async () => {
          try {
            await stop();
            return true;
          } catch {
            return false;
          }
        },
        20_000,
        "a dispatch through the reconnected connectors",
      );
      assert(handled >= 2, "the handler was subscribed again and handled the command");
      assert(handler.connection.connected && dispatcher.connection.connected);
    } finally {
      await Promise.all([handler.close(), dispatcher.close()]);
      await soma.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "connector → soma killed (-9) and restarted: retries with growing delays, query handlers and the processor come back, no event twice",
  ignore: Boolean(AXON_SERVER),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const token = "reconnect-token";
    const dataDir = await Deno.makeTempDir({ prefix: "soma-kill-" });
    let soma = await SomaProcess.start({ dataDir, token });
    const { port, httpPort } = soma;
    const drops: number[] = [];
    const connect = (component: string, onStateChange: (state: string) => void = () => {}) =>
      connectAxon(
        {
          address: `127.0.0.1:${port}`,
          componentName: component,
          token,
          heartbeat: { intervalMs: 500, timeoutMs: 2_000 },
          onStateChange,
        },
        exampleRegistry(),
        AbortSignal.timeout(20_000),
      );
    const handler = await connect(
      "resume",
      (state) => state === "disconnected" && drops.push(performance.now()),
    );
    const caller = await connect("caller");
    const seen: string[] = [];
    const processor = new TrackingProcessor(
      defineProjection({
        name: "resume-log",
        events: [domain.GreetedEventSchema],
        handle: (event) => Promise.resolve(void seen.push(event.payload.message)),
      }),
      {
        eventStore: handler.eventStore,
        tokenStore: new InMemoryTokenStore(),
        registry: new MessageRegistry(),
        deadLetters: new InMemoryDeadLetterQueue(),
        onError: () => {},
      },
    );
    const unregister = handler.connection.registerProcessor(processor);
    const greeter = await startGreeter({ ...handler, registry: exampleRegistry() }, {
      command: true,
      projection: false,
    });
    try {
      await handler.queryBus.subscribe(
        domain.SearchQuerySchema,
        () => Promise.resolve(create(domain.GreetingListSchema, { greetings: [] })),
      );
      await processor.start();
      const greet = (message: string) =>
        caller.commandBus.dispatch(create(domain.GreetCommandSchema, { greeterId: "resume", message }));
      await greet("one");
      await greet("two");
      await whenChanged([processor], () => seen.length === 2, "the processor before the kill", 10_000);

      await soma.kill();
      await eventually(() => drops.length >= 5, 20_000, "five failed connection attempts");
      const gaps = drops.slice(1).map((at, i) => at - drops[i]);
      // The Java connector waits a fixed 2 s between attempts; ours doubles from 250 ms (with jitter) up to 10 s.
      assert(gaps.at(-1)! >= 400 && gaps.at(-1)! > gaps[0], `gaps between attempts: ${gaps.map(Math.round)}`);

      soma = await SomaProcess.start({ dataDir, token, port, httpPort });
      const search = () =>
        queryOne(caller.queryBus, create(domain.SearchQuerySchema, {}), domain.GreetingListSchema);
      await eventually(
        () => search().then(() => true, () => false),
        30_000,
        "the query handler subscribed again",
      );
      await eventually(
        () => greet("three").then(() => true, () => false),
        30_000,
        "a command after the restart",
      );
      await whenChanged([processor], () => seen.length >= 3, "the processor resumed", 30_000);
      assertEquals(seen, ["one", "two", "three"]);
      await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${httpPort}/v1/processors`, {
            headers: { authorization: `Bearer ${token}` },
          });
          return (await response.text()).includes("resume-log");
        },
        10_000,
        "the processor reported to the restarted soma",
      );
    } finally {
      unregister();
      await processor.stop();
      await greeter.stop();
      await Promise.all([handler.close(), caller.close()]);
      await soma.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
