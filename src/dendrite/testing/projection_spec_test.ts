import { create } from "@bufbuild/protobuf";
import { account, deposited } from "../../../test/fixtures/account.ts";
import { assertEquals, AssertionError, assertRejects } from "../../../test/assert.ts";
import { defineProjection } from "../processing/projection.ts";
import { projectionSpec, storedEvent } from "./projection_spec.ts";

const deposit = (note: string) => deposited("a", 1n, note);
const frozen = create(account.FrozenEventSchema, { accountId: "a" });

/** A projection keeping the deposits' notes; `fail` makes it throw on that note. */
function notes(fail?: string) {
  const seen: string[] = [];
  const projection = defineProjection({
    name: "notes",
    events: [account.DepositedEventSchema],
    handle(event) {
      if (event.payload.note === fail) return Promise.reject(new Error(`cannot take "${fail}"`));
      seen.push(event.payload.note);
      return Promise.resolve();
    },
  });
  return { seen, projection };
}

Deno.test("projectionSpec hands the declared events in order and skips the others", async () => {
  const { seen, projection } = notes();
  await projectionSpec(projection).given(deposit("a"), frozen, deposit("b")).then((events) => {
    assertEquals(seen, ["a", "b"]);
    assertEquals(events.map((e) => e.token), [0, 1, 2]);
  });
});

Deno.test("projectionSpec then() fails when the check fails", async () => {
  const { projection } = notes();
  await assertRejects(
    () => projectionSpec(projection).given(deposit("a")).then(() => assertEquals(["a", "b"], ["a"])),
    AssertionError,
  );
});

Deno.test("projectionSpec then() fails with the handler's error and runs no check", async () => {
  const { seen, projection } = notes("bad");
  let checked = false;
  await assertRejects(
    () =>
      projectionSpec(projection).given(deposit("a"), deposit("bad"), deposit("c")).then(
        () => (checked = true, undefined),
      ),
    Error,
    'cannot take "bad"',
  );
  assertEquals([seen, checked], [["a"], false]);
});

Deno.test("projectionSpec keeps a given envelope as it is (id, token, aggregate)", async () => {
  const { projection } = notes();
  const envelope = storedEvent(deposit("a"), 41, { type: "test.v1.Account", id: "a", sequence: 7 });
  await projectionSpec(projection).given(envelope).then((events) => assertEquals(events, [envelope]));
});
