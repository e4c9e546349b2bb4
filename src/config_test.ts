import { assert, assertEquals, assertThrows } from "../test/assert.ts";
import { ConfigError, describeConfig, parseConfig, ROLES } from "./config.ts";

Deno.test("parseConfig() uses the defaults with no flags and no environment", () => {
  const config = parseConfig([], {});
  assertEquals(config.help, false);
  assertEquals([...config.roles], [...ROLES]);
  assertEquals(config.port, 8080);
  assertEquals(config.grpcPort, 8081);
  // An ephemeral front door gets an ephemeral gRPC port unless one is set.
  assertEquals(parseConfig(["--port=0"], {}).grpcPort, 0);
  assertEquals(parseConfig([], { PORT: "0" }).grpcPort, 0);
  assertEquals(parseConfig([], { PORT: "0", GRPC_PORT: "9091" }).grpcPort, 9091);
  assertEquals(config.dataDir, "./data");
  assertEquals(config.axonPort, 8124);
  assertEquals(config.axonHttpPort, 8024);
  assertEquals(config.axonServer, undefined);
  assertEquals(config.elasticsearchUrl, undefined);
  assertEquals(config.tls, undefined);
  assertEquals(config.logLevel, "info");
  assertEquals(config.rootKeyModule, undefined);
  assertEquals(config.idempotencyWindowMs, 86_400_000);
  assertEquals(parseConfig([], { IDEMPOTENCY_WINDOW_SECONDS: "60" }).idempotencyWindowMs, 60_000);
});

Deno.test("parseConfig() reads the environment and lets flags win", () => {
  const env = {
    PORT: "9000",
    DATA_DIR: "/var/lib/greeter",
    AXON_PORT: "9124",
    AXON_HTTP_PORT: "9024",
    AXON_SERVER: "axon.local:8124",
    ELASTICSEARCH_URL: "http://localhost:9200",
    TLS_CERT_FILE: "cert.pem",
    TLS_KEY_FILE: "key.pem",
    LOG_LEVEL: "WARN",
    DENDRITE_ROOT_KEY_MODULE: "/tmp/keys/root_key.generated.ts",
  };
  const fromEnv = parseConfig([], env);
  assertEquals(fromEnv.port, 9000);
  assertEquals(fromEnv.dataDir, "/var/lib/greeter");
  assertEquals(fromEnv.axonPort, 9124);
  assertEquals(fromEnv.axonHttpPort, 9024);
  assertEquals(fromEnv.axonServer, "axon.local:8124");
  assertEquals(fromEnv.elasticsearchUrl?.href, "http://localhost:9200/");
  assertEquals(fromEnv.tls, { certFile: "cert.pem", keyFile: "key.pem" });
  assertEquals(fromEnv.logLevel, "warn");
  assertEquals(fromEnv.rootKeyModule, "/tmp/keys/root_key.generated.ts");

  const flagged = parseConfig(["--port", "0", "--data-dir=/tmp/x", "--log-level=debug"], env);
  assertEquals(flagged.port, 0);
  assertEquals(flagged.dataDir, "/tmp/x");
  assertEquals(flagged.logLevel, "debug");
});

Deno.test("parseConfig() reads the gRPC port from GRPC_PORT and --grpc-port (the flag wins)", () => {
  assertEquals(parseConfig([], { GRPC_PORT: "9001" }).grpcPort, 9001);
  assertEquals(parseConfig(["--grpc-port=0"], { GRPC_PORT: "9001" }).grpcPort, 0);
  assertEquals(parseConfig(["--port=0", "--grpc-port=0"], {}).port, 0);
});

Deno.test("parseConfig() parses role lists, repeated flags and all", () => {
  assertEquals([...parseConfig(["--role=command,projection"], {}).roles], ["command", "projection"]);
  assertEquals([...parseConfig(["--role", "api", "--role=soma"], {}).roles], ["api", "soma"]);
  assertEquals(parseConfig(["--role=all"], {}).roles.size, ROLES.length);
});

Deno.test("parseConfig() sees --help and -h", () => {
  assert(parseConfig(["--help"], {}).help);
  assert(parseConfig(["-h"], {}).help);
});

Deno.test("parseConfig() reads PROJECTION_THREAD (default true)", () => {
  assertEquals(parseConfig([], {}).projectionThread, true);
  for (const on of ["true", "1", "YES", "on"]) {
    assertEquals(parseConfig([], { PROJECTION_THREAD: on }).projectionThread, true);
  }
  for (const off of ["false", "0", "no", "Off"]) {
    assertEquals(parseConfig([], { PROJECTION_THREAD: off }).projectionThread, false);
  }
});

Deno.test("parseConfig() refuses bad input with a ConfigError naming the setting", () => {
  const cases: [string[], Record<string, string>, string, string][] = [
    [["--port=http"], {}, "--port", "port number"],
    [[], { SUBSCRIPTIONS_MAX: "0" }, "SUBSCRIPTIONS_MAX", "whole number above 0"],
    [[], { SUBSCRIPTION_BUFFER: "many" }, "SUBSCRIPTION_BUFFER", "whole number above 0"],
    [[], { PROCESSOR_CLAIM_TIMEOUT_MS: "1.5" }, "PROCESSOR_CLAIM_TIMEOUT_MS", "whole number above 0"],
    [[], { PROCESSOR_MAX_ATTEMPTS: "0" }, "PROCESSOR_MAX_ATTEMPTS", "whole number above 0"],
    [
      [],
      { ELASTICSEARCH_REQUEST_TIMEOUT_MS: "soon" },
      "ELASTICSEARCH_REQUEST_TIMEOUT_MS",
      "whole number above 0",
    ],
    [[], { PORT: "70000" }, "PORT", "port number"],
    [[], { PORT: "-1" }, "PORT", "port number"],
    [["--role=web"], {}, "--role", 'Unknown role "web"'],
    [["--role="], {}, "--role", 'Unknown role ""'],
    [["--colour=red"], {}, "--colour", 'Unknown option "--colour"'],
    [["serve"], {}, "serve", 'Unexpected argument "serve"'],
    [["--port"], {}, "--port", "needs a value"],
    [[], { LOG_LEVEL: "loud" }, "LOG_LEVEL", "debug, info, warn or error"],
    [[], { TLS_CERT_FILE: "cert.pem" }, "TLS_KEY_FILE", "set together"],
    [[], { TLS_KEY_FILE: "key.pem" }, "TLS_CERT_FILE", "set together"],
    [[], { AXON_SERVER: "axon" }, "AXON_SERVER", "host:port"],
    [[], { AXON_PORT: "x" }, "AXON_PORT", "port number"],
    [[], { GRPC_PORT: "x" }, "GRPC_PORT", "port number"],
    [["--grpc-port=8080"], {}, "GRPC_PORT", "must differ"],
    [[], { ELASTICSEARCH_URL: "ftp://es" }, "ELASTICSEARCH_URL", "http(s) URL"],
    [[], { IDEMPOTENCY_WINDOW_SECONDS: "0" }, "IDEMPOTENCY_WINDOW_SECONDS", "whole number of seconds"],
    [[], { IDEMPOTENCY_WINDOW_SECONDS: "1.5" }, "IDEMPOTENCY_WINDOW_SECONDS", "whole number of seconds"],
    [[], { ELASTICSEARCH_URL: "not a url" }, "ELASTICSEARCH_URL", "http(s) URL"],
    [[], { API_MAX_CONNECTIONS: "0" }, "API_MAX_CONNECTIONS", "whole number above 0"],
    [[], { API_HEADER_TIMEOUT_MS: "5s" }, "API_HEADER_TIMEOUT_MS", "whole number above 0"],
    [[], { PROJECTION_THREAD: "maybe" }, "PROJECTION_THREAD", "true or false"],
  ];
  for (const [args, env, setting, message] of cases) {
    const error = assertThrows(() => parseConfig(args, env), message);
    assert(error instanceof ConfigError, `${args.join(" ")}: expected a ConfigError, got ${error}`);
    assertEquals(error.setting, setting);
  }
});

Deno.test("parseConfig() reads the API port's connection limits; unset ones stay undefined", () => {
  const config = parseConfig([], {
    API_HEADER_TIMEOUT_MS: "2000",
    API_IDLE_TIMEOUT_MS: "30000",
    API_MAX_CONNECTIONS: "100",
    API_MAX_STREAMS: "8",
    API_KEEPALIVE_TIME_MS: "15000",
    API_KEEPALIVE_TIMEOUT_MS: "5000",
  });
  assertEquals(config.apiLimits, {
    headersTimeoutMs: 2000,
    idleTimeoutMs: 30000,
    maxConnections: 100,
    maxStreamsPerConnection: 8,
    keepAliveTimeMs: 15_000,
    keepAliveTimeoutMs: 5_000,
  });
  assertEquals(parseConfig([], {}).apiLimits.maxConnections, undefined);
});

Deno.test("describeConfig() masks URL credentials and never includes the TLS key", () => {
  const config = parseConfig([], {
    ELASTICSEARCH_URL: "https://elastic:s3cret@es.example:9200/?api_key=abc",
    TLS_CERT_FILE: "cert.pem",
    TLS_KEY_FILE: "/secret/key.pem",
  });
  const text = JSON.stringify(describeConfig(config));
  assert(!text.includes("s3cret"), text);
  assert(!text.includes("abc"), text);
  assert(!text.includes("key.pem"), text);
  assert(text.includes("es.example:9200"), text);
  assert(text.includes('"tls":true'), text);
});

Deno.test("parseConfig() keeps soma on loopback for every role and reads its limits", () => {
  assertEquals(parseConfig(["--role=soma"], {}).axonHost, "127.0.0.1");
  assertEquals(parseConfig([], { AXON_HOST: "0.0.0.0" }).axonHost, "0.0.0.0");
  assertEquals(parseConfig([], { SOMA_MAX_CONNECTIONS: "64", SOMA_IDLE_TIMEOUT_MS: "5000" }).somaLimits, {
    maxConnections: 64,
    idleTimeoutMs: 5_000,
  });
  const error = assertThrows(
    () => parseConfig([], { SOMA_HEADER_TIMEOUT_MS: "soon" }),
    "SOMA_HEADER_TIMEOUT_MS",
  );
  assert(error instanceof ConfigError && error.setting === "SOMA_HEADER_TIMEOUT_MS", String(error));
});

Deno.test("parseConfig() reads the subscription bounds and the processor's claim settings", () => {
  const defaults = parseConfig([], {});
  assertEquals(defaults.subscriptions, { maxTotal: 200, maxPerClient: 20, buffer: 1024 });
  assertEquals([defaults.processorClaimTimeoutMs, defaults.processorOwner], [10_000, undefined]);
  const set = parseConfig([], {
    SUBSCRIPTIONS_MAX: "50",
    SUBSCRIPTIONS_PER_CLIENT: "5",
    SUBSCRIPTION_BUFFER: "64",
    PROCESSOR_CLAIM_TIMEOUT_MS: "60000",
    PROCESSOR_OWNER: "projection-1",
  });
  assertEquals(set.subscriptions, { maxTotal: 50, maxPerClient: 5, buffer: 64 });
  assertEquals([set.processorClaimTimeoutMs, set.processorOwner], [60_000, "projection-1"]);
  assertEquals([defaults.processorMaxAttempts, defaults.elasticsearchRequestTimeoutMs], [
    undefined,
    undefined,
  ]);
  const tuned = parseConfig([], { PROCESSOR_MAX_ATTEMPTS: "2", ELASTICSEARCH_REQUEST_TIMEOUT_MS: "1500" });
  assertEquals([tuned.processorMaxAttempts, tuned.elasticsearchRequestTimeoutMs], [2, 1_500]);
});
