/**
 * The README, docs and protos tell the truth about the repository: the files they point to exist (with the
 * section named), the tasks they name are in deno.json, the configuration table has no stale "only `all`
 * runs", and `deno install` from the lock file prints no "Ignored build scripts" warning.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => Deno.readTextFileSync(join(ROOT, path));

function docs(): { path: string; text: string }[] {
  const files = ["README.md", ...[...Deno.readDirSync(join(ROOT, "docs"))].map((e) => `docs/${e.name}`)]
    .filter((path) => path.endsWith(".md"));
  const protos = [...Deno.readDirSync(join(ROOT, "proto/example/v1"))].map((e) =>
    `proto/example/v1/${e.name}`
  );
  return [...files, ...protos].map((path) => ({ path, text: read(path) }));
}

Deno.test("docs and proto comments point to files that exist, and the search syntax pointer to its section", () => {
  const missing: string[] = [];
  for (const { path, text } of docs()) {
    for (const [, target] of text.matchAll(/\b(docs\/[a-z-]+\.md)\b/g)) {
      try {
        Deno.statSync(join(ROOT, target));
      } catch {
        missing.push(`${path} → ${target}`);
      }
    }
  }
  assertEquals(missing, []);
  const proto = read("proto/example/v1/greeter.proto");
  const comment = proto.slice(0, proto.indexOf("string query = 1;")).split("message SearchRequest")[1];
  const pointer = comment.match(/docs\/[a-z-]+\.md/)?.[0];
  assert(pointer !== undefined, `SearchRequest.query names no doc: ${comment}`);
  assert(read(pointer).includes("## Search syntax"), `${pointer} has no "Search syntax" section`);
});

Deno.test("every `deno task NAME` in the docs is a task, and the role table is current", () => {
  const tasks = Object.keys(JSON.parse(read("deno.json")).tasks);
  const unknown: string[] = [];
  for (const { path, text } of docs()) {
    for (const [, name] of text.matchAll(/deno(?:@[\d.]+)? task ([a-z-]+)/g)) {
      if (!tasks.includes(name)) unknown.push(`${path}: ${name}`);
    }
  }
  assertEquals(unknown, []);
  assert(!read("docs/api.md").includes("only `all` runs"), "docs/api.md says only --role=all runs");
});

Deno.test({
  name: "`deno install --frozen` in a fresh folder prints no 'Ignored build scripts' warning",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dendrite-install-" });
    try {
      for (const file of ["deno.json", "deno.lock"]) await Deno.copyFile(join(ROOT, file), join(dir, file));
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["install", "--frozen"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
        signal: AbortSignal.timeout(300_000),
      }).output();
      const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
      assert(output.success, text);
      assert(!text.includes("Ignored build scripts"), text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
