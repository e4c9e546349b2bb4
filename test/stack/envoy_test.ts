/**
 * envoy/envoy.yaml: schema-checked offline against the Envoy v3 protos, plus the stack's own rules
 * (Axon listener without stream idle timeout, grpc_web + cors filters, admin on localhost only).
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { EnvoySchema, validateEnvoyConfig } from "./envoy_schema.ts";
import { envoyPolicyProblems } from "./envoy_policy.ts";
import { repoPath } from "./paths.ts";

const ENVOY_YAML = repoPath("envoy/envoy.yaml");

function loadConfig(): Record<string, unknown> {
  const doc: unknown = parse(Deno.readTextFileSync(ENVOY_YAML));
  assert.ok(typeof doc === "object" && doc !== null && !Array.isArray(doc), "envoy.yaml is not a mapping");
  return doc as Record<string, unknown>;
}

let schemaPromise: Promise<EnvoySchema> | undefined;
function schema(): Promise<EnvoySchema> {
  schemaPromise ??= EnvoySchema.load();
  return schemaPromise;
}

/** Deep copy, then apply an edit: the negative cases below mutate a copy of the real file. */
function edited(edit: (config: Record<string, unknown>) => void): Record<string, unknown> {
  const copy = structuredClone(loadConfig());
  edit(copy);
  return copy;
}

// deno-lint-ignore no-explicit-any
type Loose = any;

Deno.test("envoy.yaml: every field and @type is known to the Envoy v3 protos", async () => {
  const problems = await validateEnvoyConfig(await schema(), loadConfig());
  assert.deepEqual(problems, []);
});

Deno.test("envoy.yaml: the stack's rules hold (axon idle timeout 0, grpc_web, cors, admin on 127.0.0.1)", () => {
  assert.deepEqual(envoyPolicyProblems(loadConfig()), []);
});

Deno.test("envoy schema check rejects unknown fields, unknown @types, bad kinds and deprecated fields", async () => {
  const s = await schema();
  const unknownField = edited((c: Loose) => {
    c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stream_idle_timout = "0s";
  });
  assert.match((await validateEnvoyConfig(s, unknownField)).join("\n"), /stream_idle_timout: unknown field/);

  const unknownType = edited((c: Loose) => {
    c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]
      .typed_config["@type"] = "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWebb";
  });
  assert.match((await validateEnvoyConfig(s, unknownType)).join("\n"), /unknown message .*GrpcWebb/);

  const badDuration = edited((c: Loose) => {
    c.static_resources.listeners[1].filter_chains[0].filters[0].typed_config.stream_idle_timeout = "forever";
  });
  assert.match((await validateEnvoyConfig(s, badDuration)).join("\n"), /expected a duration/);

  const badEnum = edited((c: Loose) => {
    c.static_resources.clusters[0].type = "SORT_OF_DNS";
  });
  assert.match((await validateEnvoyConfig(s, badEnum)).join("\n"), /SORT_OF_DNS.* is not a value/);

  const deprecated = edited((c: Loose) => {
    // v2-era style: CORS on the virtual host instead of typed_per_filter_config
    c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0]
      .cors = {};
  });
  assert.match((await validateEnvoyConfig(s, deprecated)).join("\n"), /\.cors: deprecated field/);

  const twoOfOneof = edited((c: Loose) => {
    c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0]
      .routes[0].match.path = "/x";
  });
  assert.match((await validateEnvoyConfig(s, twoOfOneof)).join("\n"), /more than one of oneof/);
});

Deno.test("envoy policy check catches a missing idle timeout, a public admin and a missing grpc_web filter", () => {
  const noIdle = edited((c: Loose) => {
    delete c.static_resources.listeners[1].filter_chains[0].filters[0].typed_config.stream_idle_timeout;
  });
  assert.match(envoyPolicyProblems(noIdle).join("\n"), /8124.*stream_idle_timeout/);

  const idle5m = edited((c: Loose) => {
    c.static_resources.listeners[1].filter_chains[0].filters[0].typed_config.stream_idle_timeout = "300s";
  });
  assert.match(envoyPolicyProblems(idle5m).join("\n"), /8124.*stream_idle_timeout/);

  const publicAdmin = edited((c: Loose) => {
    c.admin.address.socket_address.address = "0.0.0.0";
  });
  assert.match(envoyPolicyProblems(publicAdmin).join("\n"), /admin/);

  const noGrpcWeb = edited((c: Loose) => {
    const hcm = c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    hcm.http_filters = hcm.http_filters.filter((f: Loose) => f.name !== "envoy.filters.http.grpc_web");
  });
  assert.match(envoyPolicyProblems(noGrpcWeb).join("\n"), /grpc_web/);

  const http1Axon = edited((c: Loose) => {
    delete c.static_resources.clusters[1].typed_extension_protocol_options;
  });
  assert.match(envoyPolicyProblems(http1Axon).join("\n"), /HTTP\/2/);

  // The front door over HTTP/2 with node:http2's 64 KiB window: busy live streams would fall behind.
  const smallWindow = edited((c: Loose) => {
    const api = c.static_resources.clusters.find((cluster: Loose) => cluster.name === "api");
    api.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
      .explicit_http_config.http2_protocol_options.initial_connection_window_size = 65535;
  });
  assert.match(envoyPolicyProblems(smallWindow).join("\n"), /cluster api must use HTTP\/2 upstream/);

  // gRPC cannot go to the front door (Deno.serve sends no trailers).
  const grpcToFrontDoor = edited((c: Loose) => {
    const hcm = c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    for (const route of hcm.route_config.virtual_hosts[0].routes) route.route.cluster = "api";
  });
  assert.match(envoyPolicyProblems(grpcToFrontDoor).join("\n"), /api_grpc/);
});
