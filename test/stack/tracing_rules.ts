/**
 * Rules for the stack's optional tracing: the `tracing` profile of docker/compose.yaml and the collector's
 * configuration (docker/otel-collector.yaml), checked offline on the parsed files. No collector binary runs here,
 * so this checks what would make the pipeline silently lose spans: a pipeline naming an undefined or unknown
 * component, the roles exporting to a port the collector does not listen on, traces sent to a host that is not
 * a Jaeger service with OTLP on, tracing services outside the profile, a config file not mounted where the
 * collector reads it.
 *
 * @module
 */

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Obj : {};
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Components of the core collector image (`otel/opentelemetry-collector`) the config may use. */
const CORE = {
  receivers: new Set(["otlp"]),
  processors: new Set(["batch", "memory_limiter"]),
  exporters: new Set(["otlp", "otlphttp", "debug", "nop"]),
} as const;

/** Problems in a collector configuration. */
export function collectorProblems(config: Obj): string[] {
  const problems: string[] = [];
  const pipelines = obj(obj(config.service).pipelines);
  if (!obj(pipelines).traces) problems.push("service.pipelines has no traces pipeline");
  for (const [pipeline, spec] of Object.entries(pipelines)) {
    for (const kind of ["receivers", "processors", "exporters"] as const) {
      const names = list(obj(spec)[kind]);
      if (kind !== "processors" && names.length === 0) problems.push(`pipeline ${pipeline} has no ${kind}`);
      for (const name of names) {
        if (!(name in obj(config[kind]))) {
          problems.push(`pipeline ${pipeline}: ${kind} ${name} is not defined`);
        }
        const type = name.split("/")[0];
        if (!CORE[kind].has(type)) {
          problems.push(`pipeline ${pipeline}: ${kind} type ${type} is not in the core image`);
        }
      }
    }
  }
  return problems;
}

function environment(service: Obj): Record<string, string> {
  return Object.fromEntries(Object.entries(obj(service.environment)).map(([k, v]) => [k, String(v ?? "")]));
}

/** Problems in how compose.yaml wires tracing to the collector configuration. */
export function tracingStackProblems(compose: Obj, config: Obj): string[] {
  const problems: string[] = [];
  const services = obj(compose.services);
  const collector = obj(services["otel-collector"]);
  const jaeger = obj(services.jaeger);
  for (const [name, service] of [["otel-collector", collector], ["jaeger", jaeger]] as const) {
    if (!list(service.profiles).includes("tracing")) problems.push(`${name} must be in the tracing profile`);
  }
  const configArg = list(collector.command).find((a) => a.startsWith("--config="))?.slice("--config=".length);
  const mounted = list(collector.volumes).some((v) =>
    v.startsWith("./otel-collector.yaml:") && v.includes(`:${configArg}`)
  );
  if (!configArg || !mounted) {
    problems.push("otel-collector must mount ./otel-collector.yaml where --config reads it");
  }

  const http = String(obj(obj(obj(obj(config.receivers).otlp).protocols).http).endpoint ?? "");
  const httpPort = http.split(":").at(-1);
  for (const [name, service] of Object.entries(services)) {
    const env = environment(obj(service));
    if (!list(obj(service).command).some((a) => a.startsWith("--role="))) continue; // not a role of the program
    const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    if (endpoint !== `http://otel-collector:${httpPort}`) {
      problems.push(
        `${name}: OTEL_EXPORTER_OTLP_ENDPOINT ${endpoint} is not the collector's OTLP/HTTP port ${httpPort}`,
      );
    }
    if (!/^\$\{OTEL_DENO:-false\}$/.test(env.OTEL_DENO ?? "")) {
      problems.push(`${name}: OTEL_DENO must default to false`);
    }
    if (!env.OTEL_SERVICE_NAME) problems.push(`${name}: no OTEL_SERVICE_NAME`);
  }
  if (!list(collector.expose).includes(String(httpPort))) {
    problems.push(`otel-collector must expose ${httpPort}`);
  }

  const traces = list(obj(obj(obj(config.service).pipelines).traces).exporters);
  const exporters = obj(config.exporters);
  const toJaeger = traces.filter((name) => name.split("/")[0] === "otlp").map((name) =>
    String(obj(exporters[name]).endpoint ?? "")
  );
  if (toJaeger.length === 0) problems.push("the traces pipeline exports to no OTLP backend");
  for (const endpoint of toJaeger) {
    const [host, port] = endpoint.split(":");
    if (!(host in services)) problems.push(`traces go to ${host}, which is not a compose service`);
    else if (
      host === "jaeger" &&
      (environment(jaeger).COLLECTOR_OTLP_ENABLED !== "true" || !list(jaeger.expose).includes(port))
    ) {
      problems.push(`jaeger must enable OTLP and expose ${port}`);
    }
  }
  return problems;
}
