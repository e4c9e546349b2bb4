import { join } from "node:path";
import { assert, assertEquals } from "../../test/assert.ts";
import { removeExampleRegions } from "./service_prune.ts";
import { insertAtAnchor, ScaffoldError, Workspace } from "./workspace.ts";

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert(error instanceof ScaffoldError, String(error));
    return error.message;
  }
  throw new Error("expected a refusal");
}

Deno.test("insertAtAnchor() inserts before the anchor with its indentation, and names a missing anchor", () => {
  const text = "if (x) {\n  a();\n  // dendrite:scaffold:command\n}\n";
  assertEquals(
    insertAtAnchor("f.ts", text, "command", ["b();", "c();"]),
    "if (x) {\n  a();\n  b();\n  c();\n  // dendrite:scaffold:command\n}\n",
  );
  assert(refusal(() => insertAtAnchor("f.ts", text, "queries", ["b();"])).includes(`"f.ts" has no`));
  const twice = `${text}// dendrite:scaffold:command\n`;
  assert(refusal(() => insertAtAnchor("f.ts", twice, "command", [])).includes("2 times"));
});

Deno.test("removeExampleRegions() drops marked regions and lines, and refuses an unbalanced region", () => {
  const text = "a\n// dendrite:example:begin\nb\n// dendrite:example:end\nc // dendrite:example\nd";
  assertEquals(removeExampleRegions("f.ts", text), "a\nd");
  assert(
    refusal(() => removeExampleRegions("f.ts", "// dendrite:example:begin\nb")).includes("without its end"),
  );
});

Deno.test("Workspace plans in memory, lists the changes, and writes only at apply", async () => {
  const root = await Deno.makeTempDir({ prefix: "dendrite-workspace-" });
  try {
    await Deno.mkdir(join(root, "old"));
    await Deno.writeTextFile(join(root, "old/gone.ts"), "x");
    await Deno.writeTextFile(join(root, "kept.ts"), "1");
    const workspace = new Workspace(root);
    workspace.create("new/file.ts", "new");
    workspace.modify("kept.ts", (text) => `${text}2`);
    workspace.remove("old/gone.ts");
    assert(refusal(() => workspace.create("kept.ts", "again")).includes("already exists"));
    assertEquals(workspace.read("kept.ts"), "12");
    assertEquals(await Deno.readTextFile(join(root, "kept.ts")), "1", "nothing written before apply");
    assertEquals(
      workspace.changes().map((change) => `${change.action} ${change.path}`),
      ["modify kept.ts", "create new/file.ts", "delete old/gone.ts"],
    );
    await workspace.apply();
    assertEquals(await Deno.readTextFile(join(root, "new/file.ts")), "new");
    assertEquals(await Deno.readTextFile(join(root, "kept.ts")), "12");
    assertEquals(
      await Deno.stat(join(root, "old")).then(() => true, () => false),
      false,
      "empty folder removed",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
