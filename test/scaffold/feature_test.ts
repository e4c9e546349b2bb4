/**
 * `deno task new feature Farewell` in a copy of the repository: the copy's new tests and `deno task check` pass,
 * and the program serves the new RPCs over Connect (listing public, recording for a signed-in caller) with the
 * new projection's processor on soma's dashboard.
 */
import { readProject } from "../../scripts/new/project.ts";
import { Workspace } from "../../scripts/new/workspace.ts";
import { assert, assertEquals, eventually } from "../assert.ts";
import { connectCall, login, startCopy } from "./program.ts";
import { copyRepository, denoOk, ROOT } from "./copy.ts";

/** The application's proto package (`example` in the template, the service's name after `new service`). */
const project = readProject(new Workspace(ROOT));

const NEW_TESTS = [
  "src/example/farewell/aggregate_test.ts",
  "src/example/farewell/projection_test.ts",
  "src/example/farewell/queries_test.ts",
  "src/example/api/farewell_service_test.ts",
];

Deno.test({
  name: "new feature Farewell: its tests and check pass, the program serves its RPCs and lists its processor",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await copyRepository();
    try {
      const output = await denoOk(dir, ["task", "new", "feature", "Farewell"]);
      for (const file of NEW_TESTS) assert(output.includes(`create ${file}`), output);
      const tests = await denoOk(dir, ["test", "-A", ...NEW_TESTS]);
      assert(/ok \| 8 passed \| 0 failed/.test(tests), tests);
      await denoOk(dir, ["task", "check"], 600_000);

      const program = await startCopy(dir);
      try {
        const service = `${project.protoPackage}.FarewellService`;
        const record = (token?: string) =>
          connectCall(program.baseUrl, `${service}/RecordFarewell`, { farewellId: "f1", text: "Bye" }, token);
        const anonymous = await record();
        assertEquals([anonymous.status, anonymous.json.code], [401, "unauthenticated"]);
        const token = await login(program.baseUrl);
        assertEquals((await record(token)).json, { count: "1" });
        const empty = await connectCall(program.baseUrl, `${service}/RecordFarewell`, {
          farewellId: "f1",
          text: " ",
        }, token);
        assertEquals([empty.status, empty.json.code], [400, "invalid_argument"]);
        const listed = async () => {
          const { status, json } = await connectCall(program.baseUrl, `${service}/ListFarewells`, {});
          assertEquals(status, 200, JSON.stringify(json));
          return (json.entries as { text: string }[] | undefined ?? []).map((entry) => entry.text);
        };
        await eventually(async () => (await listed()).length === 1, 30_000, "the farewell projected");
        assertEquals(await listed(), ["Bye"]);
        assert(
          (await program.processors()).includes(`${project.protoName}.farewell-projection`),
          "on the dashboard",
        );
      } finally {
        await program.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
