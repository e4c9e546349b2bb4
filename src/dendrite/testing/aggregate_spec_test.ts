import { create } from "@bufbuild/protobuf";
import { AssertionError } from "node:assert/strict";
import { Account, account, AccountErrors, deposit, deposited } from "../../../test/fixtures/account.ts";
import { assertThrows } from "../../../test/assert.ts";
import { aggregateSpec } from "./aggregate_spec.ts";

const pay = deposit("a", 5n, "hi");
const paid = deposited("a", 5n, "hi");
const frozen = create(account.FrozenEventSchema, { accountId: "a" });

Deno.test("aggregateSpec then() fails when the decided events differ", () => {
  const error = assertThrows(() =>
    aggregateSpec(Account).given().when(pay).then(deposited("a", 5n, "other"))
  );
  if (!(error instanceof AssertionError)) throw error;
});

Deno.test("aggregateSpec then() fails when an event of another type is expected", () => {
  const error = assertThrows(() =>
    aggregateSpec(Account).given().when(pay).then(create(account.UnfrozenEventSchema, { accountId: "a" }))
  );
  if (!(error instanceof AssertionError)) throw error;
});

Deno.test("aggregateSpec then() fails when more or fewer events were decided", () => {
  assertThrows(() => aggregateSpec(Account).given().when(pay).then());
  assertThrows(() => aggregateSpec(Account).given().when(pay).then(paid, paid));
});

Deno.test("aggregateSpec then() fails when the command was refused", () => {
  assertThrows(() => aggregateSpec(Account).given(frozen).when(pay).then(paid), "refused");
});

Deno.test("aggregateSpec thenError() fails on success or on another code or message", () => {
  assertThrows(
    () => aggregateSpec(Account).given().when(pay).thenError(AccountErrors.FROZEN),
    "Expected a refusal",
  );
  assertThrows(() => aggregateSpec(Account).given(frozen).when(pay).thenError("AC999"));
  assertThrows(() =>
    aggregateSpec(Account).given(frozen).when(pay).thenError(AccountErrors.FROZEN, "no such text")
  );
});

Deno.test("aggregateSpec given() applies events in order before the command", () => {
  const unfrozen = create(account.UnfrozenEventSchema, { accountId: "a" });
  aggregateSpec(Account).given(frozen, unfrozen).when(pay).then(paid);
  aggregateSpec(Account).given(unfrozen, frozen).when(pay).thenError(AccountErrors.FROZEN);
});
