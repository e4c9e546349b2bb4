/**
 * docker/compose.yaml: validated by Debian's docker-compose v1 (`config`, offline) and by the stack's structural
 * rules (test/stack/compose_rules.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { composeProblems } from "./compose_rules.ts";
import { repoPath } from "./paths.ts";
import { ignoreWithout, requireTool, run } from "./tools.ts";

const COMPOSE = repoPath("docker/compose.yaml");
const HINT = "apt-get install -y docker-compose";

type Obj = Record<string, unknown>;
// deno-lint-ignore no-explicit-any
type Loose = any;

function load(): { doc: Obj; text: string } {
  const text = Deno.readTextFileSync(COMPOSE);
  const doc: unknown = parse(text, { merge: true });
  assert.ok(typeof doc === "object" && doc !== null, "compose.yaml is not a mapping");
  return { doc: doc as Obj, text };
}

/** docker-compose config on a file, run from a fresh temp dir with an isolated HOME (no user config). */
async function composeConfig(file: string): Promise<{ code: number; output: string }> {
  const tmp = await Deno.makeTempDir({ prefix: "stack-compose-" });
  try {
    const r = await run("docker-compose", ["-f", file, "config", "-q"], {
      cwd: tmp,
      env: { HOME: tmp, DOCKER_CONFIG: join(tmp, ".docker") },
    });
    return { code: r.code, output: r.stdout + r.stderr };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

const noCompose = ignoreWithout("docker-compose", HINT);

Deno.test({
  name: "compose.yaml: docker-compose config accepts it",
  ignore: noCompose,
  fn: async () => {
    requireTool("docker-compose", HINT);
    const r = await composeConfig(COMPOSE);
    assert.equal(r.code, 0, `docker-compose config failed:\n${r.output}`);
  },
});

Deno.test({
  name: "compose.yaml: docker-compose config rejects a broken copy (the check can fail)",
  ignore: noCompose,
  fn: async () => {
    requireTool("docker-compose", HINT);
    const tmp = await Deno.makeTempDir({ prefix: "stack-compose-bad-" });
    try {
      const { doc } = load();
      const bad: Loose = structuredClone(doc);
      bad.services.api.depends_on = { nowhere: { condition: "service_healthy" } };
      const file = join(tmp, "compose.yaml");
      await Deno.writeTextFile(file, stringify(bad));
      const r = await composeConfig(file);
      assert.notEqual(r.code, 0, "docker-compose accepted a dependency on an undefined service");
      assert.match(r.output, /nowhere/);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("compose.yaml: the stack's structural rules hold", () => {
  const { doc, text } = load();
  assert.deepEqual(composeProblems(doc, text), []);
});

Deno.test("compose rules catch broken health ordering, host.docker.internal, overlay networks and missing roles", () => {
  const { doc, text } = load();
  const check = (edit: (d: Loose) => void, rawText = text): string => {
    const copy: Loose = structuredClone(doc);
    edit(copy);
    return composeProblems(copy, rawText).join("\n");
  };
  assert.match(
    check((d) => delete d.services.envoy.healthcheck),
    /waits for envoy to be healthy, but envoy has no/,
  );
  assert.match(check((d) => d.services.api.depends_on = ["envoy"]), /service_started/);
  assert.match(
    check(() => {}, text + '\n# extra_hosts: ["x:host.docker.internal"]\n'),
    /host\.docker\.internal/,
  );
  assert.match(check((d) => d.networks.stack.driver = "overlay"), /driver overlay/);
  assert.match(check((d) => delete d.services["projection-2"]), /two projection services/);
  assert.match(check((d) => delete d.services.command), /--role=command/);
  assert.match(
    check((d) => d.services.api.environment.AXON_SERVER = "localhost:8124"),
    /AXON_SERVER must be/,
  );
  assert.match(check((d) => d.services.elasticsearch.image = "elasticsearch:7.6.1"), /must be 9\.x/);
  assert.match(check((d) => d.services["axon-server"].image = "axoniq/axonserver:latest"), /pinned tag/);
  assert.match(
    check((d) => d.services.envoy.depends_on = { api: { condition: "service_healthy" } }),
    /cycle/,
  );
  assert.match(
    check((d) => d.services.api.healthcheck.test = ["CMD", "true"]),
    /api healthcheck must call \/healthz/,
  );
});
