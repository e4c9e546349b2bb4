import { assertEquals, assertThrows } from "../../../test/assert.ts";
import { mergePolicies, ruleFor } from "./policy.ts";

Deno.test("ruleFor() prefers the exact method, then the service wildcard, and denies the rest", () => {
  const policy = {
    public: ["a.v1.S/Open"],
    roles: { "a.v1.S/Admin": ["admin"], "a.v1.T/*": [] },
    signed: ["a.v1.S/Change"],
  };
  assertEquals(ruleFor(policy, "a.v1.S/Open"), { kind: "public" });
  assertEquals(ruleFor(policy, "a.v1.S/Admin"), { kind: "roles", roles: ["admin"] });
  assertEquals(ruleFor(policy, "a.v1.S/Change"), { kind: "signed" });
  assertEquals(ruleFor(policy, "a.v1.T/Anything"), { kind: "roles", roles: [] });
  assertEquals(ruleFor(policy, "a.v1.S/Other"), { kind: "deny" });
  assertEquals(ruleFor({ ...policy, otherwise: "authenticated" }, "a.v1.S/Other"), {
    kind: "roles",
    roles: [],
  });
});

Deno.test("mergePolicies() refuses a method with two rules", () => {
  assertThrows(
    () => mergePolicies({ public: ["a.v1.S/X"] }, { roles: { "a.v1.S/X": ["admin"] } }),
    "more than one",
  );
});
