/**
 * The stack's optional tracing (profile `tracing`: OpenTelemetry collector + Jaeger), validated offline:
 * `docker-compose --profile tracing config` accepts the file, and the collector configuration is wired to the
 * roles and to Jaeger (test/stack/tracing_rules.ts); each rule is shown to fail on a broken copy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { repoPath } from "./paths.ts";
import { ignoreWithout, requireTool, run } from "./tools.ts";
import { collectorProblems, tracingStackProblems } from "./tracing_rules.ts";

type Obj = Record<string, unknown>;
// deno-lint-ignore no-explicit-any
type Loose = any;

const load = (path: string) => parse(Deno.readTextFileSync(repoPath(path)), { merge: true }) as Obj;
const HINT = "apt-get install -y docker-compose";

Deno.test({
  name: "compose.yaml: docker-compose config accepts the tracing profile",
  ignore: ignoreWithout("docker-compose", HINT),
  fn: async () => {
    requireTool("docker-compose", HINT);
    const tmp = await Deno.makeTempDir({ prefix: "stack-tracing-" });
    try {
      const r = await run("docker-compose", [
        "-f",
        repoPath("docker/compose.yaml"),
        "--profile",
        "tracing",
        "config",
      ], {
        cwd: tmp,
        env: { HOME: tmp, DOCKER_CONFIG: join(tmp, ".docker") },
      });
      assert.equal(r.code, 0, `docker-compose config failed:\n${r.stdout}${r.stderr}`);
      const services = Object.keys(obj(obj(parse(r.stdout)).services));
      assert.ok(services.includes("otel-collector") && services.includes("jaeger"), services.join(", "));
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

function obj(value: unknown): Obj {
  return typeof value === "object" && value !== null ? value as Obj : {};
}

Deno.test("otel-collector.yaml and the tracing profile are wired together", () => {
  const config = load("docker/otel-collector.yaml");
  assert.deepEqual(collectorProblems(config), []);
  assert.deepEqual(tracingStackProblems(load("docker/compose.yaml"), config), []);
});

Deno.test("tracing rules catch undefined components, wrong ports and hosts, services outside the profile", () => {
  const config = load("docker/otel-collector.yaml");
  const compose = load("docker/compose.yaml");
  const collector = (edit: (c: Loose) => void) => {
    const copy: Loose = structuredClone(config);
    edit(copy);
    return [...collectorProblems(copy), ...tracingStackProblems(compose, copy)].join("\n");
  };
  const stack = (edit: (d: Loose) => void) => {
    const copy: Loose = structuredClone(compose);
    edit(copy);
    return tracingStackProblems(copy, config).join("\n");
  };
  assert.match(
    collector((c) => c.service.pipelines.traces.exporters = ["otlp/tempo"]),
    /otlp\/tempo is not defined/,
  );
  assert.match(collector((c) => c.receivers = { zipkin: {} }), /otlp is not defined/);
  assert.match(collector((c) => c.exporters.jaeger = {}), /^$/); // defined but unused: harmless
  assert.match(
    collector((c) => {
      c.exporters.jaeger = {};
      c.service.pipelines.traces.exporters = ["jaeger"];
    }),
    /type jaeger is not in the core image/,
  );
  assert.match(collector((c) => delete c.service.pipelines.traces), /no traces pipeline/);
  assert.match(
    collector((c) => c.receivers.otlp.protocols.http.endpoint = "0.0.0.0:4319"),
    /not the collector's/,
  );
  assert.match(
    collector((c) => c.exporters["otlp/jaeger"].endpoint = "tempo:4317"),
    /tempo, which is not a compose/,
  );
  assert.match(stack((d) => delete d.services.jaeger.profiles), /jaeger must be in the tracing profile/);
  assert.match(stack((d) => delete d.services.jaeger.environment), /jaeger must enable OTLP/);
  assert.match(
    stack((d) => d.services.command.environment.OTEL_DENO = "true"),
    /command: OTEL_DENO must default/,
  );
  assert.match(
    stack((d) => delete d.services.api.environment.OTEL_SERVICE_NAME),
    /api: no OTEL_SERVICE_NAME/,
  );
  assert.match(stack((d) => d.services["otel-collector"].volumes = []), /must mount/);
});
