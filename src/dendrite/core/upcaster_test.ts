import { create, toBinary } from "@bufbuild/protobuf";
import { join } from "node:path";
import { assertEquals, assertThrows } from "../../../test/assert.ts";
import { Greeter } from "../../example/greeter/aggregate.ts";
import { greeterModel, greeterProjection } from "../../example/greeter/projection.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { GreetedEventRevision0Schema, GreetedEventRevision1Schema } from "../../gen/test/v1/legacy_pb.ts";
import { AggregateRepository } from "../commands/repository.ts";
import { InMemoryDocumentStore } from "../documents/memory.ts";
import type { EventRecord } from "../eventstore/event_store.ts";
import { SqliteEventStore } from "../eventstore/sqlite.ts";
import { InMemoryTokenStore } from "../processing/memory_token_store.ts";
import { InMemoryDeadLetterQueue } from "../processing/dead_letter.ts";
import { TrackingProcessor } from "../processing/processor.ts";
import { envelope } from "./message.ts";
import { MessageRegistry } from "./registry.ts";
import { defineUpcaster } from "./upcaster.ts";

const TYPE = domain.GreetedEventSchema.typeName;

/** The registry of the current program: GreetedEvent at revision "2", with upcasters for "" and "1". */
function currentRegistry(): MessageRegistry {
  const registry = new MessageRegistry().add(domain.GreetedEventSchema, "2");
  registry.addUpcaster(
    defineUpcaster(GreetedEventRevision0Schema, "", GreetedEventRevision1Schema, "1", (old) => {
      const [greeter, ...rest] = old.line.split(": ");
      return create(GreetedEventRevision1Schema, { greeter, text: rest.join(": ") });
    }, { storedType: TYPE, resultType: TYPE }),
  );
  registry.addUpcaster(
    defineUpcaster(
      GreetedEventRevision1Schema,
      "1",
      domain.GreetedEventSchema,
      "2",
      (old) => create(domain.GreetedEventSchema, { greeterId: old.greeter, message: old.text }),
    ),
  );
  return registry;
}

/** Events as older versions of the program stored them. */
function storedSamples(): EventRecord[] {
  const payloads = [
    {
      revision: "",
      data: toBinary(
        GreetedEventRevision0Schema,
        create(GreetedEventRevision0Schema, { line: "main: first: one" }),
      ),
    },
    {
      revision: "1",
      data: toBinary(
        GreetedEventRevision1Schema,
        create(GreetedEventRevision1Schema, { text: "second", greeter: "main" }),
      ),
    },
    {
      revision: "2",
      data: toBinary(
        domain.GreetedEventSchema,
        create(domain.GreetedEventSchema, { greeterId: "main", message: "third" }),
      ),
    },
  ];
  return payloads.map((p, sequence) => ({
    id: `event-${sequence}`,
    timestamp: 1_600_000_000_000 + sequence,
    payload: { type: TYPE, ...p },
    metadata: {},
    aggregate: { type: Greeter.type, id: "main", sequence },
  }));
}

Deno.test("defineUpcaster() lifts stored revisions, chained, through the repository and a processor", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-upcast-" });
  const store = new SqliteEventStore({ path: join(dir, "events.sqlite") });
  try {
    await store.append(storedSamples());
    const registry = currentRegistry();

    const repository = new AggregateRepository(Greeter, { eventStore: store, registry, cacheSize: 0 });
    assertEquals((await repository.load("main")).state.greetingCount, 3n);
    await repository.handle({
      ...envelope(create(domain.GreetCommandSchema, { greeterId: "main", message: "fourth" })),
      routingKey: "main",
    });
    const revisions: string[] = [];
    for await (const record of store.readAggregate("main")) revisions.push(record.payload.revision);
    assertEquals(revisions, ["", "1", "2", "2"], "new events are written at the current revision");

    const documents = new InMemoryDocumentStore();
    const model = greeterModel(documents);
    const processor = new TrackingProcessor(greeterProjection(model), {
      eventStore: store,
      tokenStore: new InMemoryTokenStore(),
      deadLetters: new InMemoryDeadLetterQueue(),
      registry,
    });
    await processor.start();
    try {
      await processor.caughtUp(3, AbortSignal.timeout(5_000));
    } finally {
      await processor.stop();
    }
    const greetings = await model.greetings.list({ orderBy: "greetedAt" });
    assertEquals(greetings.map((g) => [g.id, g.document.greeterId, g.document.message]).slice(0, 3), [
      ["event-0", "main", "first: one"],
      ["event-1", "main", "second"],
      ["event-2", "main", "third"],
    ]);
    assertEquals(await processor.deadLetters.count(processor.name), 0);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("defineUpcaster() refuses a no-op and a registry without the chain says what is missing", () => {
  assertThrows(
    () => defineUpcaster(domain.GreetedEventSchema, "2", domain.GreetedEventSchema, "2", (old) => old),
    "must change the revision",
  );
  const registry = new MessageRegistry().add(domain.GreetedEventSchema, "2");
  assertThrows(() => registry.decode(storedSamples()[1].payload), 'No upcaster from revision "1"');
  // Without upcasters, revision "1" bytes would decode as the current layout, wrongly: the chain matters.
  const naive = new MessageRegistry().add(domain.GreetedEventSchema, "1");
  const wrong = naive.decode(storedSamples()[1].payload) as domain.GreetedEvent;
  assertEquals([wrong.greeterId, wrong.message], ["second", "main"]);
});
