/**
 * Processor instructions from the server reach a processor in a connector process: soma's status actions (the
 * same platform instructions Axon Server's dashboard sends) split, pause and start it, and its status is reported.
 */
import { InMemoryDeadLetterQueue, MessageRegistry } from "../../src/dendrite/mod.ts";
import { connectAxon } from "../../src/dendrite/axon/mod.ts";
import { InMemoryTokenStore, TrackingProcessor } from "../../src/dendrite/mod.ts";
import { greeterModel, greeterProjection } from "../../src/example/greeter/projection.ts";
import { InMemoryDocumentStore } from "../../src/dendrite/mod.ts";
import { startSoma } from "../../src/soma/mod.ts";
import { assert, assertEquals, eventually } from "../assert.ts";
import { whenChanged } from "../processing/changes.ts";
import { AXON_SERVER, exampleRegistry } from "./fixture.ts";

Deno.test({
  name: "connector → soma: split, pause and start instructions reach the processor; its status is reported",
  ignore: Boolean(AXON_SERVER),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "soma-instructions-" });
    const soma = await startSoma({ dataDir, port: 0, httpPort: false, registry: exampleRegistry() });
    const axon = await connectAxon(
      {
        address: `127.0.0.1:${soma.port}`,
        componentName: "projection",
        processorInfoIntervalMs: 50,
        onStateChange: () => {},
      },
      exampleRegistry(),
      AbortSignal.timeout(10_000),
    );
    const tokenStore = new InMemoryTokenStore();
    const processor = new TrackingProcessor(greeterProjection(greeterModel(new InMemoryDocumentStore())), {
      eventStore: axon.eventStore,
      tokenStore,
      deadLetters: new InMemoryDeadLetterQueue(),
      registry: new MessageRegistry(),
      claimIntervalMs: 50,
    });
    const unregister = axon.connection.registerProcessor(processor);
    try {
      await processor.start();
      const name = processor.name;
      await eventually(
        async () => (await soma.processors()).some((p) => p.name === name && p.instances.length === 1),
        10_000,
        "the processor's status report",
      );

      const split = await soma.processorAction("split", name, 0);
      assert(split.success, JSON.stringify(split));
      assertEquals(await tokenStore.segments(name), [0, 1]);
      await whenChanged(
        [processor],
        () => processor.status().segments.length === 2,
        "both halves claimed",
        10_000,
      );
      assertEquals(processor.status().segments.map((s) => s.onePartOf), [2, 2]);

      const pause = await soma.processorAction("pause", name);
      assert(pause.success, JSON.stringify(pause));
      assertEquals(processor.running, false);
      const start = await soma.processorAction("start", name);
      assert(start.success, JSON.stringify(start));
      assertEquals(processor.running, true);

      const unknown = await soma.processorAction("split", "no-such-processor", 0);
      assertEquals(unknown.success, false);
    } finally {
      unregister();
      await processor.stop();
      await axon.close();
      await soma.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
