/**
 * `defineAggregate`'s types: declaring results means one per command. The `@ts-expect-error` lines are checked
 * by `deno check` / `deno test` (an unused one is itself an error), so a missing result failing to compile is
 * what these tests prove; the runtime checks back it up for untyped callers.
 */
import { create } from "@bufbuild/protobuf";
import { assertEquals, assertThrows } from "../../../test/assert.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { defineAggregate } from "./aggregate.ts";

const base = {
  type: "test.Switch",
  commands: [domain.RecordCommandSchema, domain.StopCommandSchema],
  events: [domain.RecordingStartedEventSchema],
  initialState: () => ({ on: false }),
  aggregateId: (command: { greeterId: string }) => command.greeterId,
  decide: () => [],
  evolve: (state: { on: boolean }) => state,
} as const;

Deno.test("defineAggregate() without results: no command answers anything", () => {
  const aggregate = defineAggregate(base);
  assertEquals(aggregate.result, undefined);
});

Deno.test("defineAggregate() routes each command to its own result", () => {
  const aggregate = defineAggregate({
    ...base,
    results: {
      "example.v1.RecordCommand": (_command, state) =>
        create(domain.RecordingStateSchema, { recording: state.on }),
      "example.v1.StopCommand": () => create(domain.GreeterStatusSchema, { recording: false }),
    },
  });
  const stop = create(domain.StopCommandSchema, { greeterId: "a" });
  assertEquals(aggregate.result?.(stop, { on: true }, [])?.$typeName, "example.v1.GreeterStatus");
  const record = create(domain.RecordCommandSchema, { greeterId: "a" });
  assertEquals(aggregate.result?.(record, { on: true }, [])?.$typeName, "example.v1.RecordingState");
});

Deno.test("defineAggregate() does not compile, and throws, when a command has no result", () => {
  assertThrows(
    () =>
      defineAggregate({
        ...base,
        // @ts-expect-error: "example.v1.StopCommand" has no result
        results: {
          "example.v1.RecordCommand": () => create(domain.RecordingStateSchema, { recording: true }),
        },
      }),
    'no result for command "example.v1.StopCommand"',
  );
});

Deno.test("defineAggregate() types each result's command by its name", () => {
  defineAggregate({
    ...base,
    results: {
      // @ts-expect-error: a RecordCommand result does not get a GreetCommand (it has no `message`)
      "example.v1.RecordCommand": (command: { message: string }) =>
        create(domain.GreetedEventSchema, command),
      "example.v1.StopCommand": () => undefined,
    },
  });
});
