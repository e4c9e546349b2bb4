import { create } from "@bufbuild/protobuf";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { assertEquals, AssertionError, assertRejects } from "../../../test/assert.ts";
import { defineProjection } from "../processing/projection.ts";
import { projectionSpec, storedEvent } from "./projection_spec.ts";

const greeted = (message: string) => create(domain.GreetedEventSchema, { greeterId: "g", message });
const stopped = create(domain.RecordingStoppedEventSchema, { greeterId: "g" });

/** A projection keeping the greeted messages; `fail` makes it throw on that message. */
function messages(fail?: string) {
  const seen: string[] = [];
  const projection = defineProjection({
    name: "messages",
    events: [domain.GreetedEventSchema],
    handle(event) {
      if (event.payload.message === fail) return Promise.reject(new Error(`cannot take "${fail}"`));
      seen.push(event.payload.message);
      return Promise.resolve();
    },
  });
  return { seen, projection };
}

Deno.test("projectionSpec hands the declared events in order and skips the others", async () => {
  const { seen, projection } = messages();
  await projectionSpec(projection).given(greeted("a"), stopped, greeted("b")).then((events) => {
    assertEquals(seen, ["a", "b"]);
    assertEquals(events.map((e) => e.token), [0, 1, 2]);
  });
});

Deno.test("projectionSpec then() fails when the check fails", async () => {
  const { projection } = messages();
  await assertRejects(
    () => projectionSpec(projection).given(greeted("a")).then(() => assertEquals(["a", "b"], ["a"])),
    AssertionError,
  );
});

Deno.test("projectionSpec then() fails with the handler's error and runs no check", async () => {
  const { seen, projection } = messages("bad");
  let checked = false;
  await assertRejects(
    () =>
      projectionSpec(projection).given(greeted("a"), greeted("bad"), greeted("c")).then(
        () => (checked = true, undefined),
      ),
    Error,
    'cannot take "bad"',
  );
  assertEquals([seen, checked], [["a"], false]);
});

Deno.test("projectionSpec keeps a given envelope as it is (id, token, aggregate)", async () => {
  const { projection } = messages();
  const envelope = storedEvent(greeted("a"), 41, { type: "Greeter", id: "g", sequence: 7 });
  await projectionSpec(projection).given(envelope).then((events) => assertEquals(events, [envelope]));
});
