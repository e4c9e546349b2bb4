/**
 * The stack's own rules for envoy/envoy.yaml, on top of the schema check: what must be true for the program's
 * roles and the browser to work through Envoy.
 *
 * @module
 */

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Obj : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Seconds of a proto3 JSON duration ("0s", "1.5s"), or undefined when absent or malformed. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(value);
  return m ? Number(m[1]) : undefined;
}

function hcmOf(listener: Obj): Obj | undefined {
  for (const chain of list(listener.filter_chains)) {
    for (const filter of list(obj(chain)?.filters)) {
      const f = obj(filter);
      if (f?.name === "envoy.filters.network.http_connection_manager") return obj(f.typed_config);
    }
  }
  return undefined;
}

function listenerPort(listener: Obj): number | undefined {
  const port = obj(obj(obj(listener.address)?.socket_address))?.port_value;
  return typeof port === "number" ? port : undefined;
}

function httpFilterTypes(hcm: Obj): string[] {
  return list(hcm.http_filters).map((f) => String(obj(obj(f)?.typed_config)?.["@type"] ?? ""));
}

function routeClusters(hcm: Obj): string[] {
  const clusters: string[] = [];
  for (const vh of list(obj(hcm.route_config)?.virtual_hosts)) {
    for (const route of list(obj(vh)?.routes)) {
      const cluster = obj(obj(route)?.route)?.cluster;
      if (typeof cluster === "string") clusters.push(cluster);
    }
  }
  return clusters;
}

/** The smallest HTTP/2 receive windows (stream and connection) Envoy may give the front door. */
const MIN_FRONT_DOOR_WINDOW = 1024 * 1024;

/** Envoy's default HTTP/2 receive window (both kinds) when the field is not set. */
const ENVOY_DEFAULT_WINDOW = 268_435_456;

/** Whether the cluster speaks HTTP/2 upstream, with receive windows of at least `minWindow` bytes. */
function usesHttp2(cluster: Obj, minWindow = 0): boolean {
  const opts = obj(
    obj(cluster.typed_extension_protocol_options)?.["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"],
  );
  const h2 = obj(obj(opts?.explicit_http_config)?.http2_protocol_options);
  if (h2 === undefined) return false;
  const window = (name: string) => Number(h2[name] ?? ENVOY_DEFAULT_WINDOW);
  return window("initial_stream_window_size") >= minWindow &&
    window("initial_connection_window_size") >= minWindow;
}

function clusterEndpoints(cluster: Obj): string[] {
  const out: string[] = [];
  for (const group of list(obj(cluster.load_assignment)?.endpoints)) {
    for (const lb of list(obj(group)?.lb_endpoints)) {
      const sa = obj(obj(obj(obj(lb)?.endpoint)?.address)?.socket_address);
      if (sa) out.push(`${sa.address}:${sa.port_value}`);
    }
  }
  return out;
}

const GRPC_WEB = "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb";
const CORS = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

/** Problems with the stack's rules; empty when the configuration follows all of them. */
export function envoyPolicyProblems(config: Obj): string[] {
  const problems: string[] = [];
  const adminAddress = obj(obj(obj(config.admin)?.address)?.socket_address)?.address;
  if (adminAddress !== "127.0.0.1") {
    problems.push(`admin must listen on 127.0.0.1 only, found ${JSON.stringify(adminAddress)}`);
  }

  const listeners = list(obj(config.static_resources)?.listeners).map((l) => obj(l) ?? {});
  const clusters = new Map<string, Obj>();
  for (const c of list(obj(config.static_resources)?.clusters)) {
    const cluster = obj(c);
    if (cluster && typeof cluster.name === "string") clusters.set(cluster.name, cluster);
  }

  const axon = listeners.find((l) => listenerPort(l) === 8124);
  const axonHcm = axon && hcmOf(axon);
  if (!axonHcm) {
    problems.push("no HTTP listener on port 8124 for Axon Server");
  } else {
    if (durationSeconds(axonHcm.stream_idle_timeout) !== 0) {
      problems.push("the 8124 listener must set stream_idle_timeout: 0s (long-lived Axon streams)");
    }
    if (axonHcm.codec_type !== "HTTP2") problems.push("the 8124 listener must use codec_type HTTP2");
    const targets = routeClusters(axonHcm);
    if (targets.length === 0) problems.push("the 8124 listener routes nowhere");
    for (const name of targets) {
      const cluster = clusters.get(name);
      if (!cluster) {
        problems.push(`the 8124 listener routes to unknown cluster ${name}`);
        continue;
      }
      if (!usesHttp2(cluster)) problems.push(`cluster ${name} (Axon gRPC) must use HTTP/2 upstream`);
      if (!clusterEndpoints(cluster).includes("axon-server:8124")) {
        problems.push(`cluster ${name} must point at axon-server:8124`);
      }
    }
  }

  const web = listeners.find((l) => {
    const hcm = hcmOf(l);
    return hcm !== undefined && httpFilterTypes(hcm).includes(GRPC_WEB);
  });
  const webHcm = web && hcmOf(web);
  if (!webHcm) {
    problems.push("no listener has the grpc_web filter");
  } else {
    const filters = httpFilterTypes(webHcm);
    if (!filters.includes(CORS)) problems.push("the web listener must have the cors filter");
    if (filters.at(-1) !== ROUTER) {
      problems.push("the router must be the last http filter of the web listener");
    }
    const targets = routeClusters(webHcm);
    if (!targets.includes("api")) problems.push("the web listener must route to the api cluster");
    const api = clusters.get("api");
    if (!api) problems.push("no cluster named api");
    else {
      if (!clusterEndpoints(api).includes("api:8080")) {
        problems.push("cluster api must point at the api role's front door, api:8080");
      }
      // Busy live streams share the connection's receive window (docs/api.md, "Streams over HTTP/2").
      if (!usesHttp2(api, MIN_FRONT_DOOR_WINDOW)) {
        problems.push("cluster api must use HTTP/2 upstream with receive windows of at least 1 MiB");
      }
    }
    // gRPC (and grpc-web, which the grpc_web filter turns into gRPC) needs the api role's gRPC port.
    if (!targets.includes("api_grpc")) {
      problems.push("the web listener must route gRPC to the api_grpc cluster");
    }
    const grpc = clusters.get("api_grpc");
    if (!grpc) problems.push("no cluster named api_grpc");
    else {
      if (!usesHttp2(grpc)) problems.push("cluster api_grpc must use HTTP/2 upstream (grpc_web emits gRPC)");
      if (!clusterEndpoints(grpc).includes("api:8081")) {
        problems.push("cluster api_grpc must point at the api role's gRPC port, api:8081");
      }
    }
  }
  return problems;
}
