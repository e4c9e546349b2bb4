/**
 * `deno task new service billing` in a copy of the template: the greeter and the enrolment example are gone, the
 * proto package is `billing.v1` with its first feature `Billing`, the copy's new tests, the library's own tests
 * (on their account fixture) and `deno task check` pass, and the program serves the new RPCs over Connect, the
 * starter page, and lists the new processor. It runs once, and refuses a bad name writing nothing.
 */
import { join } from "node:path";
import { scaffold } from "../../scripts/new/main.ts";
import { ScaffoldError } from "../../scripts/new/workspace.ts";
import { assert, assertEquals, eventually } from "../assert.ts";
import { connectCall, login, startCopy } from "./program.ts";
import { copyRepository, denoOk, snapshot } from "./copy.ts";

/** The library's own tests on its account fixture (test/fixtures/account.ts): they stay with the library. */
const LIBRARY_TESTS = [
  "src/dendrite/commands/",
  "src/dendrite/testing/",
  "src/dendrite/processing/processor_test.ts",
];

const NEW_TESTS = [
  "src/example/billing/aggregate_test.ts",
  "src/example/billing/projection_test.ts",
  "src/example/billing/queries_test.ts",
  "src/example/api/billing_service_test.ts",
];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test({
  name: "new service billing: no greeter left, its tests and check pass, the program serves billing.v1",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await copyRepository();
    try {
      await denoOk(dir, ["task", "new", "service", "billing"]);
      for (
        const gone of ["src/example/greeter", "src/example/enrolment", "proto/example", "src/gen/example"]
      ) {
        assert(!await exists(join(dir, gone)), `${gone} is still there`);
      }
      const readme = await Deno.readTextFile(join(dir, "README.md"));
      assert(
        readme.startsWith("# billing\n") && !/GreeterService|src\/example\/greeter/.test(readme),
        readme,
      );
      assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "deno.json"))).name, "@billing/billing");
      const tests = await denoOk(dir, ["test", "-A", ...NEW_TESTS]);
      assert(/ok \| 8 passed \| 0 failed/.test(tests), tests);
      const library = await denoOk(dir, ["test", "-A", ...LIBRARY_TESTS]);
      assert(/ok \| [1-9]\d* passed \| 0 failed/.test(library), library);
      await denoOk(dir, ["task", "check"], 600_000);

      const program = await startCopy(dir);
      try {
        const base = program.baseUrl;
        const greet = await connectCall(base, "example.v1.GreeterService/Greet", { message: "hi" });
        assertEquals(greet.status, 404, "the greeter is gone");
        const token = await login(base);
        const recorded = await connectCall(
          base,
          "billing.v1.BillingService/RecordBilling",
          { billingId: "b1", text: "First invoice" },
          token,
        );
        assertEquals(recorded.json, { count: "1" });
        const listed = async () =>
          ((await connectCall(base, "billing.v1.BillingService/ListBillings", {})).json.entries as
            | { text: string }[]
            | undefined ?? []).map((entry) => entry.text);
        await eventually(async () => (await listed()).length === 1, 30_000, "the text projected");
        assertEquals(await listed(), ["First invoice"]);
        assert((await program.processors()).includes("billing.billing-projection"), "on the dashboard");
        const page = await (await fetch(`${base}/`)).text();
        assert(page.includes("<title>billing</title>"), page);
      } finally {
        await program.stop();
      }

      const before = await snapshot(dir);
      const again = await scaffold(dir, "service", "shop", { after: false }).then(() => undefined, (e) => e);
      assert(again instanceof ScaffoldError && again.message.includes("runs once"), String(again));
      assertEquals(await snapshot(dir), before);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("new service refuses a bad or reserved name and writes nothing", async () => {
  const dir = await copyRepository();
  try {
    const before = await snapshot(dir);
    for (
      const [name, pattern] of [
        ["Billing", /is not a service name/],
        ["bill-ing", /is not a service name/],
        ["b", /is not a service name/],
        ["example", /is reserved/],
        ["dendrite", /is reserved/],
      ] as const
    ) {
      const error = await scaffold(dir, "service", name, { after: false }).then(() => undefined, (e) => e);
      assert(error instanceof ScaffoldError && pattern.test(error.message), `${name}: ${error}`);
    }
    assertEquals(await snapshot(dir), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
