/**
 * The stack's rules for docker/compose.yaml, checked on the parsed file (with YAML merge keys applied).
 * `docker-compose config` checks the Compose schema; these check what the stack needs on top of it.
 *
 * @module
 */

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Obj : undefined;
}

/** Replaces `${VAR:-default}` and `${VAR-default}` with the default, as Compose does when VAR is unset. */
export function withDefaults(text: string): string {
  return text.replace(/\$\{[A-Z0-9_]+:?-([^}]*)\}/g, (_m, def: string) => def);
}

/** The services that a service depends on, with the condition (short list syntax means service_started). */
export function dependsOn(service: Obj): Map<string, string> {
  const deps = new Map<string, string>();
  const raw = service.depends_on;
  if (Array.isArray(raw)) {
    for (const name of raw) deps.set(String(name), "service_started");
  } else if (obj(raw)) {
    for (const [name, spec] of Object.entries(obj(raw) ?? {})) {
      deps.set(name, String(obj(spec)?.condition ?? "service_started"));
    }
  }
  return deps;
}

function environment(service: Obj): Map<string, string> {
  const env = new Map<string, string>();
  const raw = service.environment;
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const [k, ...v] = String(item).split("=");
      env.set(k, v.join("="));
    }
  } else if (obj(raw)) {
    for (const [k, v] of Object.entries(obj(raw) ?? {})) env.set(k, String(v ?? ""));
  }
  return env;
}

function commandText(service: Obj): string {
  const c = service.command;
  return Array.isArray(c) ? c.join(" ") : String(c ?? "");
}

/** Published ports as "hostIp:hostPort:containerPort" (hostIp empty when unbound). */
export function publishedPorts(service: Obj): string[] {
  const out: string[] = [];
  for (const p of Array.isArray(service.ports) ? service.ports : []) {
    const parts = String(p).replace(/\/(tcp|udp)$/, "").split(":");
    if (parts.length === 3) out.push(parts.join(":"));
    else if (parts.length === 2) out.push(`:${parts[0]}:${parts[1]}`);
    else out.push(`::${parts[0]}`);
  }
  return out;
}

function image(service: Obj): string {
  return withDefaults(String(service.image ?? ""));
}

function hasCycle(services: Map<string, Obj>): string | undefined {
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, trail: string[]): string | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return [...trail, name].join(" -> ");
    state.set(name, "visiting");
    for (const dep of dependsOn(services.get(name) ?? {}).keys()) {
      const found = visit(dep, [...trail, name]);
      if (found) return found;
    }
    state.set(name, "done");
    return undefined;
  };
  for (const name of services.keys()) {
    const found = visit(name, []);
    if (found) return found;
  }
  return undefined;
}

const PROGRAM_ROLES = ["command", "projection", "api"];

/** Problems found in a parsed compose file and its raw text; empty when every rule holds. */
export function composeProblems(doc: Obj, rawText: string): string[] {
  const problems: string[] = [];
  if (/host\.docker\.internal|host-gateway/.test(rawText)) {
    problems.push(
      "host.docker.internal / host-gateway must not be used (Docker Desktop only; breaks on Linux)",
    );
  }
  const services = new Map<string, Obj>();
  for (const [name, s] of Object.entries(obj(doc.services) ?? {})) services.set(name, obj(s) ?? {});

  // Health checks and start ordering.
  for (const [name, service] of services) {
    for (const [dep, condition] of dependsOn(service)) {
      const target = services.get(dep);
      if (!target) {
        problems.push(`${name} depends on unknown service ${dep}`);
        continue;
      }
      if (condition !== "service_healthy") {
        problems.push(`${name} depends on ${dep} with ${condition}; use condition: service_healthy`);
      }
      if (condition === "service_healthy" && !obj(target.healthcheck)) {
        problems.push(`${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
      }
    }
    const hc = obj(service.healthcheck);
    if (hc && (!Array.isArray(hc.test) || hc.test.length < 2 || hc.disable === true)) {
      problems.push(`${name}: healthcheck.test must be a CMD or CMD-SHELL list`);
    }
  }
  const cycle = hasCycle(services);
  if (cycle) problems.push(`depends_on cycle: ${cycle}`);

  // Network: one user-defined bridge network, every service on it.
  const networks = obj(doc.networks) ?? {};
  for (const [net, spec] of Object.entries(networks)) {
    const driver = obj(spec)?.driver ?? "bridge";
    if (driver !== "bridge") problems.push(`network ${net} uses driver ${driver}; use bridge`);
  }
  for (const [name, service] of services) {
    const nets = Array.isArray(service.networks)
      ? service.networks
      : Object.keys(obj(service.networks) ?? {});
    if (!nets.some((n) => String(n) in networks)) {
      problems.push(`${name} is not on a declared bridge network`);
    }
    if (service.network_mode !== undefined) problems.push(`${name} must not set network_mode`);
  }

  // Images: pinned tags.
  for (const [name, service] of services) {
    if (service.image === undefined && service.build === undefined) {
      problems.push(`${name} has no image or build`);
    }
    const img = image(service);
    if (service.build === undefined && (!/:[^/]+$/.test(img) || img.endsWith(":latest"))) {
      problems.push(`${name}: image ${img} must have a pinned tag`);
    }
  }

  // Axon Server.
  const axon = [...services.entries()].find(([, s]) => image(s).startsWith("axoniq/axonserver:"));
  if (!axon) {
    problems.push("no axoniq/axonserver service");
  } else {
    const [name, s] = axon;
    const env = environment(s);
    if (env.get("AXONIQ_AXONSERVER_DEVMODE_ENABLED") !== "true") {
      problems.push(`${name}: development mode is off`);
    }
    if (env.get("AXONIQ_AXONSERVER_STANDALONE") !== "true") problems.push(`${name}: standalone mode is off`);
    if (!publishedPorts(s).some((p) => p.endsWith(":8024"))) {
      problems.push(`${name}: dashboard 8024 not published`);
    }
    if (!(Array.isArray(s.volumes) && s.volumes.length >= 2)) {
      problems.push(`${name}: data and events need volumes`);
    }
    if (!obj(s.healthcheck)) problems.push(`${name}: no healthcheck`);
  }

  // Elasticsearch 9.x single node with a heap limit.
  const es = [...services.entries()].find(([, s]) => /elasticsearch:\d/.test(image(s)));
  if (!es) {
    problems.push("no Elasticsearch service");
  } else {
    const [name, s] = es;
    const env = environment(s);
    if (!/elasticsearch:9\./.test(image(s))) {
      problems.push(`${name}: Elasticsearch must be 9.x, got ${image(s)}`);
    }
    if (env.get("discovery.type") !== "single-node") {
      problems.push(`${name}: discovery.type must be single-node`);
    }
    if (!/-Xmx\d+[mg]/.test(env.get("ES_JAVA_OPTS") ?? "")) problems.push(`${name}: ES_JAVA_OPTS needs -Xmx`);
    if (!obj(s.healthcheck)) problems.push(`${name}: no healthcheck`);
  }

  // Envoy: mounts envoy/envoy.yaml, publishes the web port and the Axon port.
  const envoy = services.get("envoy");
  if (!envoy) {
    problems.push("no envoy service");
  } else {
    const mounts = Array.isArray(envoy.volumes) ? envoy.volumes.map(String) : [];
    if (!mounts.some((m) => m.startsWith("../envoy/envoy.yaml:"))) {
      problems.push("envoy must mount ../envoy/envoy.yaml");
    }
    const ports = publishedPorts(envoy);
    if (!ports.some((p) => p.endsWith(":8080"))) problems.push("envoy must publish the web port 8080");
    if (!ports.some((p) => p.endsWith(":8124"))) problems.push("envoy must publish the Axon port 8124");
    if (!obj(envoy.healthcheck)) problems.push("envoy: no healthcheck");
  }

  // The program as separate roles.
  const byRole = new Map<string, string[]>();
  for (const [name, s] of services) {
    const m = /--role=([a-z,]+)/.exec(commandText(s));
    if (!m) continue;
    for (const role of m[1].split(",")) byRole.set(role, [...(byRole.get(role) ?? []), name]);
    const env = environment(s);
    const axonServer = env.get("AXON_SERVER") ?? "";
    if (!["envoy:8124", "axon-server:8124"].includes(axonServer)) {
      problems.push(
        `${name}: AXON_SERVER must be envoy:8124 or axon-server:8124, got ${JSON.stringify(axonServer)}`,
      );
    }
    if (!/^http:\/\/elasticsearch:9200\/?$/.test(env.get("ELASTICSEARCH_URL") ?? "")) {
      problems.push(`${name}: ELASTICSEARCH_URL must point at the elasticsearch service`);
    }
    const deps = dependsOn(s);
    const axonHost = axonServer.split(":")[0];
    if (deps.get(axonHost) !== "service_healthy") {
      problems.push(`${name} must wait for ${axonHost} to be healthy`);
    }
    if (es && deps.get(es[0]) !== "service_healthy") {
      problems.push(`${name} must wait for ${es[0]} to be healthy`);
    }
  }
  for (const role of PROGRAM_ROLES) {
    if (!byRole.has(role)) problems.push(`no service runs --role=${role}`);
  }
  if ((byRole.get("projection") ?? []).length < 2) {
    problems.push("at least two projection services are needed to share segments");
  }
  if (byRole.has("all")) problems.push("the stack must split the program into roles, not run --role=all");
  for (const name of byRole.get("api") ?? []) {
    const hc = JSON.stringify(obj(services.get(name)?.healthcheck)?.test ?? "");
    if (!hc.includes("/healthz")) problems.push(`${name}: the api healthcheck must call /healthz`);
  }
  return problems;
}
