import { create } from "@bufbuild/protobuf";
import { InMemoryDocumentStore, LocalQueryBus, queryOne } from "../../dendrite/mod.ts";
import { projectionSpec, storedEvent } from "../../dendrite/testing/mod.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { assertEquals } from "../../../test/assert.ts";
import { greeterModel, greeterProjection, registerGreeterQueries } from "./projection.ts";

const ref = (sequence: number) => ({ type: "example.v1.Greeter", id: "main", sequence });
const greeted = (message: string, token: number) =>
  storedEvent(create(domain.GreetedEventSchema, { greeterId: "main", message }), token, ref(token));

Deno.test("greeter projection stores greetings and the greeter's status", async () => {
  const model = greeterModel(new InMemoryDocumentStore());
  await projectionSpec(greeterProjection(model))
    .given(
      greeted("Hello world", 0),
      greeted("Good morning", 1),
      storedEvent(create(domain.RecordingStoppedEventSchema, { greeterId: "main" }), 2, ref(2)),
    )
    .then(async (events) => {
      assertEquals(await model.greetings.count(), 2);
      assertEquals((await model.greetings.get(events[0].id))?.message, "Hello world");
      assertEquals(await model.greeters.get("main"), { recording: false, greetingCount: 2, sequence: 2 });
    });
});

Deno.test("greeter projection is idempotent when an event is delivered twice", async () => {
  const model = greeterModel(new InMemoryDocumentStore());
  const event = greeted("Once", 0);
  await projectionSpec(greeterProjection(model)).given(event, event).then(async () => {
    assertEquals(await model.greetings.count(), 1);
    assertEquals((await model.greeters.get("main"))?.greetingCount, 1);
  });
});

Deno.test("greeter queries search, list and report status from the model", async () => {
  const model = greeterModel(new InMemoryDocumentStore());
  const bus = new LocalQueryBus();
  await registerGreeterQueries(bus, model);
  await projectionSpec(greeterProjection(model)).given(greeted("Hello world", 0), greeted("Bye now", 1)).then(
    async () => {
      const found = await queryOne(
        bus,
        create(domain.SearchQuerySchema, { query: "hello" }),
        domain.GreetingListSchema,
      );
      assertEquals(found.greetings.map((g) => g.message), ["Hello world"]);
      const all = await queryOne(bus, create(domain.GreetingsQuerySchema), domain.GreetingListSchema);
      assertEquals(all.greetings.map((g) => g.message), ["Hello world", "Bye now"]);
      const status = await queryOne(
        bus,
        create(domain.GreeterStatusQuerySchema, { greeterId: "main" }),
        domain.GreeterStatusSchema,
      );
      assertEquals([status.recording, status.greetingCount], [true, 2n]);
    },
  );
});

Deno.test("greeter projection publishes new greetings to GreetingsQuery subscribers", async () => {
  const model = greeterModel(new InMemoryDocumentStore());
  const bus = new LocalQueryBus();
  await registerGreeterQueries(bus, model);
  const live = await bus.subscriptionQuery(create(domain.GreetingsQuerySchema));
  assertEquals(live.initial.length, 1);
  await projectionSpec(greeterProjection(model, bus)).given(greeted("Live one", 0)).then(async () => {
    const updates = live.updates[Symbol.asyncIterator]();
    const next = await updates.next();
    assertEquals(next.done, false);
    assertEquals((next.value as { message: string }).message, "Live one");
    live.close();
    assertEquals((await updates.next()).done, true);
  });
});
