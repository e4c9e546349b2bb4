import { create } from "@bufbuild/protobuf";
import { AssertionError } from "node:assert/strict";
import { Greeter } from "../../example/greeter/aggregate.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { assertThrows } from "../../../test/assert.ts";
import { aggregateSpec } from "./aggregate_spec.ts";

const greet = create(domain.GreetCommandSchema, { greeterId: "g", message: "hi" });
const greeted = create(domain.GreetedEventSchema, { greeterId: "g", message: "hi" });
const stopped = create(domain.RecordingStoppedEventSchema, { greeterId: "g" });

Deno.test("aggregateSpec then() fails when the decided events differ", () => {
  const error = assertThrows(() =>
    aggregateSpec(Greeter).given().when(greet).then(
      create(domain.GreetedEventSchema, { greeterId: "g", message: "other" }),
    )
  );
  if (!(error instanceof AssertionError)) throw error;
});

Deno.test("aggregateSpec then() fails when an event of another type is expected", () => {
  const error = assertThrows(() =>
    aggregateSpec(Greeter).given().when(greet).then(
      create(domain.RecordingStartedEventSchema, { greeterId: "g" }),
    )
  );
  if (!(error instanceof AssertionError)) throw error;
});

Deno.test("aggregateSpec then() fails when more or fewer events were decided", () => {
  assertThrows(() => aggregateSpec(Greeter).given().when(greet).then());
  assertThrows(() => aggregateSpec(Greeter).given().when(greet).then(greeted, greeted));
});

Deno.test("aggregateSpec then() fails when the command was refused", () => {
  assertThrows(() => aggregateSpec(Greeter).given(stopped).when(greet).then(greeted), "refused");
});

Deno.test("aggregateSpec thenError() fails on success or on another code or message", () => {
  assertThrows(() => aggregateSpec(Greeter).given().when(greet).thenError("EX001"), "Expected a refusal");
  assertThrows(() => aggregateSpec(Greeter).given(stopped).when(greet).thenError("EX999"));
  assertThrows(() => aggregateSpec(Greeter).given(stopped).when(greet).thenError("EX001", "no such text"));
});

Deno.test("aggregateSpec given() applies events in order before the command", () => {
  const started = create(domain.RecordingStartedEventSchema, { greeterId: "g" });
  aggregateSpec(Greeter).given(stopped, started).when(greet).then(greeted);
  aggregateSpec(Greeter).given(started, stopped).when(greet).thenError("EX001");
});
