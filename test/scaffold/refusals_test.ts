/**
 * `deno task new` refuses clearly and writes nothing: a bad or reserved name, an existing one, a name whose
 * messages clash with the package's, a kind whose prerequisite is missing, a missing insertion anchor, and a
 * second run of the same scaffold. `--dry-run` lists the changes and writes nothing.
 */
import { join } from "node:path";
import { scaffold } from "../../scripts/new/main.ts";
import { ScaffoldError } from "../../scripts/new/workspace.ts";
import { assert, assertEquals } from "../assert.ts";
import { copyRepository, deno, snapshot } from "./copy.ts";

async function inCopy(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await copyRepository();
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Expects `scaffold` to refuse with a message matching `pattern`, and the copy to be unchanged. */
async function refused(dir: string, kind: string, name: string, pattern: RegExp): Promise<void> {
  const before = await snapshot(dir);
  const error = await scaffold(dir, kind, name, { after: false }).then(() => undefined, (error) => error);
  assert(error instanceof ScaffoldError, `${kind} ${name}: expected a refusal, got ${error}`);
  assert(pattern.test(error.message), `${kind} ${name}: ${error.message}`);
  assertEquals(await snapshot(dir), before, `${kind} ${name} wrote something`);
}

Deno.test("new refuses names that are not PascalCase, reserved, or already taken, writing nothing", async () => {
  await inCopy(async (dir) => {
    for (const name of ["farewell", "Fare_well", "FAREWELL", "Farewell!", "", "Fare well"]) {
      await refused(dir, "feature", name, /is not a PascalCase name/);
    }
    await refused(dir, "aggregate", "Record", /is reserved/);
    await refused(dir, "aggregate", "Greeter", /aggregate Greeter exists already/);
    await refused(dir, "aggregate", "Security", /is reserved/);
    // Its aggregate and projection would be fine; its query's GreetingList clashes: the whole feature is refused.
    await refused(
      dir,
      "feature",
      "Greeting",
      /"GreetingList" \(in proto\/example\/v1\/domain\.proto\) already exists/,
    );
    await refused(dir, "widget", "Farewell", /Unknown kind "widget"/);
  });
});

Deno.test("new refuses a kind whose prerequisite is missing, and a file without its anchor", async () => {
  await inCopy(async (dir) => {
    await refused(
      dir,
      "projection",
      "Farewell",
      /needs its aggregate first.*deno task new aggregate Farewell/s,
    );
    await refused(dir, "query", "Farewell", /reads its projection, which does not exist/);
    await refused(dir, "rpc", "Farewell", /need its aggregate .*which does not exist/);
    const wiring = join(dir, "src/example/wiring.ts");
    const text = await Deno.readTextFile(wiring);
    await Deno.writeTextFile(wiring, text.replace(/^\s*\/\/ dendrite:scaffold:command\n/m, ""));
    await refused(dir, "feature", "Farewell", /wiring\.ts" has no "\/\/ dendrite:scaffold:command" line/);
  });
});

Deno.test("new --dry-run lists the changes and writes nothing; a second run refuses and changes nothing", async () => {
  await inCopy(async (dir) => {
    const before = await snapshot(dir);
    const planned = await scaffold(dir, "feature", "GiftCard", { dryRun: true });
    assertEquals(await snapshot(dir), before);
    const paths = planned.map((change) => `${change.action} ${change.path}`);
    for (
      const expected of [
        "create proto/example/v1/gift_card.proto",
        "create src/example/gift_card/aggregate.ts",
        "create src/example/gift_card/projection_test.ts",
        "create src/example/api/gift_card_service.ts",
        "modify src/example/wiring.ts",
        "modify src/example/api_role.ts",
        "modify src/example/security/policy.ts",
      ]
    ) assert(paths.includes(expected), `${expected} not in ${paths.join(", ")}`);

    const applied = await scaffold(dir, "feature", "GiftCard", { after: false });
    assertEquals(applied.map((change) => change.path), planned.map((change) => change.path));
    const policy = await Deno.readTextFile(join(dir, "src/example/security/policy.ts"));
    assert(policy.includes(`"example.v1.GiftCardService/ListGiftCards",`), policy);
    await refused(dir, "feature", "GiftCard", /aggregate GiftCard exists already/);
    await refused(dir, "rpc", "GiftCard", /RPC service of GiftCard exists already/);
  });
});

Deno.test("deno task new: a refusal exits with status 1 and one clear line, usage errors with 2", async () => {
  await inCopy(async (dir) => {
    const bad = await deno(dir, ["task", "new", "feature", "farewell"]);
    assert(!bad.success);
    assert(bad.output.includes(`Error: "farewell" is not a PascalCase name`), bad.output);
    const usage = await deno(dir, ["task", "new", "feature"]);
    assert(!usage.success && usage.output.includes("Usage: deno task new <kind> <Name>"), usage.output);
  });
});
