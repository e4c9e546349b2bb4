import { create } from "@bufbuild/protobuf";
import { aggregateSpec } from "../../dendrite/testing/mod.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { assertEquals } from "../../../test/assert.ts";
import { Greeter, GreeterErrors } from "./aggregate.ts";

const greet = (message: string) => create(domain.GreetCommandSchema, { greeterId: "main", message });
const greeted = (message: string) => create(domain.GreetedEventSchema, { greeterId: "main", message });
const record = create(domain.RecordCommandSchema, { greeterId: "main" });
const stop = create(domain.StopCommandSchema, { greeterId: "main" });
const started = create(domain.RecordingStartedEventSchema, { greeterId: "main" });
const stopped = create(domain.RecordingStoppedEventSchema, { greeterId: "main" });

Deno.test("Greeter records a greeting while recording (it records from the start)", () => {
  const state = aggregateSpec(Greeter).given().when(greet("Hello")).then(greeted("Hello"));
  assertEquals(state.greetingCount, 1n);
});

Deno.test("Greeter trims a greeting", () => {
  aggregateSpec(Greeter).given().when(greet("  Hello  ")).then(greeted("Hello"));
});

Deno.test("Greeter refuses a greeting while stopped with EX001", () => {
  aggregateSpec(Greeter).given(stopped).when(greet("Hello")).thenError(
    GreeterErrors.NOT_RECORDING,
    "not recording",
  );
});

Deno.test("Greeter greets again after recording restarts", () => {
  aggregateSpec(Greeter).given(stopped, started).when(greet("Back")).then(greeted("Back"));
});

Deno.test("Greeter refuses an empty or oversized greeting with EX002", () => {
  aggregateSpec(Greeter).given().when(greet("   ")).thenError(GreeterErrors.INVALID_GREETING);
  aggregateSpec(Greeter).given().when(greet("x".repeat(1_001))).thenError(GreeterErrors.INVALID_GREETING);
});

Deno.test("Greeter emits RecordingStopped only when recording", () => {
  aggregateSpec(Greeter).given().when(stop).then(stopped);
  aggregateSpec(Greeter).given(stopped).when(stop).then();
});

Deno.test("Greeter emits RecordingStarted only when stopped", () => {
  aggregateSpec(Greeter).given().when(record).then();
  aggregateSpec(Greeter).given(stopped).when(record).then(started);
});

Deno.test("Greeter counts greetings in its state", () => {
  const state = aggregateSpec(Greeter).given(greeted("a"), greeted("b"), stopped).state();
  assertEquals(state.greetingCount, 2n);
  assertEquals(state.recording, false);
});

Deno.test("Greeter counts characters, not UTF-16 units: 1,000 emoji pass, 1,001 do not", () => {
  const emoji = "😀".repeat(1_000);
  aggregateSpec(Greeter).given().when(greet(emoji)).then(greeted(emoji));
  aggregateSpec(Greeter).given().when(greet("é".repeat(1_000))).then(greeted("é".repeat(1_000)));
  aggregateSpec(Greeter).given().when(greet("😀".repeat(1_001))).thenError(
    GreeterErrors.INVALID_GREETING,
    "this one has 1001",
  );
});
