/**
 * `defineAggregate`'s types: declaring results means one per command. The `@ts-expect-error` lines are checked
 * by `deno check` / `deno test` (an unused one is itself an error), so a missing result failing to compile is
 * what these tests prove; the runtime checks back it up for untyped callers.
 */
import { create } from "@bufbuild/protobuf";
import { assertEquals, assertThrows } from "../../../test/assert.ts";
import * as account from "../../gen/test/v1/account_pb.ts";
import { defineAggregate } from "./aggregate.ts";

const base = {
  type: "test.Switch",
  commands: [account.FreezeCommandSchema, account.UnfreezeCommandSchema],
  events: [account.FrozenEventSchema],
  initialState: () => ({ on: false }),
  aggregateId: (command: { accountId: string }) => command.accountId,
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
      "test.v1.FreezeCommand": (_command, state) => create(account.FrozenStateSchema, { frozen: state.on }),
      "test.v1.UnfreezeCommand": () => create(account.ReceiptSchema, { deposits: 0n }),
    },
  });
  const unfreeze = create(account.UnfreezeCommandSchema, { accountId: "a" });
  assertEquals(aggregate.result?.(unfreeze, { on: true }, [])?.$typeName, "test.v1.Receipt");
  const freeze = create(account.FreezeCommandSchema, { accountId: "a" });
  assertEquals(aggregate.result?.(freeze, { on: true }, [])?.$typeName, "test.v1.FrozenState");
});

Deno.test("defineAggregate() does not compile, and throws, when a command has no result", () => {
  assertThrows(
    () =>
      defineAggregate({
        ...base,
        // @ts-expect-error: "test.v1.UnfreezeCommand" has no result
        results: {
          "test.v1.FreezeCommand": () => create(account.FrozenStateSchema, { frozen: true }),
        },
      }),
    'no result for command "test.v1.UnfreezeCommand"',
  );
});

Deno.test("defineAggregate() types each result's command by its name", () => {
  defineAggregate({
    ...base,
    results: {
      // @ts-expect-error: a FreezeCommand result does not get a DepositCommand (it has no `note`)
      "test.v1.FreezeCommand": (command: { note: string }) => create(account.DepositedEventSchema, command),
      "test.v1.UnfreezeCommand": () => undefined,
    },
  });
});
