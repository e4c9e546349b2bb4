/**
 * The program's configuration: environment variables, overridden by command-line flags.
 *
 * `parseConfig` is pure (arguments and environment in, typed config out) and throws a {@link ConfigError} naming
 * the offending setting; `main.ts` prints the message and exits with code 2. The parts live under `config/`: the
 * types ({@link Config}), the `--help` text, the flag parser and the parsers of single values.
 *
 * @module
 */
import { type Flag, parseFlags } from "./config/flags.ts";
import type { ApiLimits, Config, Role, SubscriptionConfig, TlsConfig } from "./config/types.ts";
import { ConfigError, ROLES } from "./config/types.ts";
import {
  nonEmpty,
  optionalPositiveInt,
  parseBoolean,
  parseHostPort,
  parseHttpUrl,
  parseLimit,
  parseLogLevel,
  parsePort,
  parsePositiveInt,
  parseRoles,
  parseSeconds,
  parseSomaLimits,
} from "./config/values.ts";

export { HELP } from "./config/help.ts";
export {
  type ApiLimits,
  type Config,
  ConfigError,
  type LogLevel,
  type Role,
  ROLES,
  type SubscriptionConfig,
  type TlsConfig,
} from "./config/types.ts";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Builds the configuration from command-line arguments and environment variables (flags win).
 *
 * @throws {ConfigError} when a value is malformed or a flag is unknown.
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig(["--port=9090"], { DATA_DIR: "/tmp/greeter" });
 * console.log(config.port, config.dataDir); // 9090 /tmp/greeter
 * ```
 */
export function parseConfig(args: readonly string[], env: Env): Config {
  const { help, values } = parseFlags(args);
  const flag = (name: Flag): string | undefined => values.get(name)?.at(-1);
  const { port, grpcPort } = parsePorts(flag("port"), flag("grpc-port"), env);
  const dataDir = flag("data-dir") ?? nonEmpty(env.DATA_DIR) ?? "./data";
  if (dataDir.trim() === "") throw new ConfigError("--data-dir", "--data-dir must not be empty");
  const roleLists = values.get("role");
  const roles = roleLists ? parseRoles("--role", roleLists) : new Set<Role>(ROLES);
  const levelFlag = flag("log-level");
  const logLevel = levelFlag !== undefined
    ? parseLogLevel("--log-level", levelFlag)
    : parseLogLevel("LOG_LEVEL", nonEmpty(env.LOG_LEVEL) ?? "info");
  const tls = parseTls(env);
  const elasticsearch = nonEmpty(env.ELASTICSEARCH_URL);
  return {
    help,
    roles,
    port,
    grpcPort,
    dataDir,
    ...parseAxon(env),
    elasticsearchUrl: elasticsearch === undefined
      ? undefined
      : parseHttpUrl("ELASTICSEARCH_URL", elasticsearch),
    elasticsearchIndexPrefix: nonEmpty(env.ELASTICSEARCH_INDEX_PREFIX),
    tls,
    logLevel,
    idempotencyWindowMs: parseSeconds(
      "IDEMPOTENCY_WINDOW_SECONDS",
      nonEmpty(env.IDEMPOTENCY_WINDOW_SECONDS) ?? "86400",
    ),
    apiLimits: parseApiLimits(env),
    rootKeyModule: nonEmpty(env.DENDRITE_ROOT_KEY_MODULE),
    processorOwner: nonEmpty(env.PROCESSOR_OWNER),
    projectionThread: parseBoolean("PROJECTION_THREAD", nonEmpty(env.PROJECTION_THREAD) ?? "true"),
    processorClaimTimeoutMs: parsePositiveInt(
      "PROCESSOR_CLAIM_TIMEOUT_MS",
      nonEmpty(env.PROCESSOR_CLAIM_TIMEOUT_MS) ?? "10000",
    ),
    processorMaxAttempts: optionalPositiveInt(env, "PROCESSOR_MAX_ATTEMPTS"),
    elasticsearchRequestTimeoutMs: optionalPositiveInt(env, "ELASTICSEARCH_REQUEST_TIMEOUT_MS"),
    subscriptions: parseSubscriptions(env),
    metricsToken: nonEmpty(env.METRICS_TOKEN),
  };
}

/** The front door's port and the gRPC port (flags win over `PORT` and `GRPC_PORT`); they must differ. */
function parsePorts(
  portFlag: string | undefined,
  grpcPortFlag: string | undefined,
  env: Env,
): { port: number; grpcPort: number } {
  const port = portFlag !== undefined
    ? parsePort("--port", portFlag)
    : parsePort("PORT", nonEmpty(env.PORT) ?? "8080");
  const grpcPort = grpcPortFlag !== undefined
    ? parsePort("--grpc-port", grpcPortFlag)
    // With an ephemeral front door (PORT=0, tests), the gRPC port is ephemeral too unless set.
    : parsePort("GRPC_PORT", nonEmpty(env.GRPC_PORT) ?? (port === 0 ? "0" : "8081"));
  if (port !== 0 && port === grpcPort) {
    throw new ConfigError("GRPC_PORT", `PORT and GRPC_PORT must differ, both are ${port}`);
  }
  return { port, grpcPort };
}

/** `TLS_CERT_FILE` and `TLS_KEY_FILE`: both or neither. */
function parseTls(env: Env): TlsConfig | undefined {
  const certFile = nonEmpty(env.TLS_CERT_FILE);
  const keyFile = nonEmpty(env.TLS_KEY_FILE);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      certFile === undefined ? "TLS_CERT_FILE" : "TLS_KEY_FILE",
      "TLS_CERT_FILE and TLS_KEY_FILE must be set together",
    );
  }
  return certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined;
}

/** The embedded Axon-API server (soma) or the external one to use instead. */
function parseAxon(env: Env): Pick<
  Config,
  "axonPort" | "axonHttpPort" | "axonHost" | "somaLimits" | "axonServer" | "axonToken" | "axonTlsCaFile"
> {
  const axonServer = nonEmpty(env.AXON_SERVER);
  return {
    axonPort: parsePort("AXON_PORT", nonEmpty(env.AXON_PORT) ?? "8124"),
    axonHttpPort: parsePort("AXON_HTTP_PORT", nonEmpty(env.AXON_HTTP_PORT) ?? "8024"),
    axonHost: nonEmpty(env.AXON_HOST) ?? "127.0.0.1",
    somaLimits: parseSomaLimits(env),
    axonServer: axonServer === undefined ? undefined : parseHostPort("AXON_SERVER", axonServer),
    axonToken: nonEmpty(env.AXON_TOKEN),
    axonTlsCaFile: nonEmpty(env.AXON_TLS_CA_FILE),
  };
}

/** `API_*`: connection limits of the gRPC port; unset ones keep the server's defaults. */
function parseApiLimits(env: Env): ApiLimits {
  return {
    headersTimeoutMs: parseLimit("API_HEADER_TIMEOUT_MS", nonEmpty(env.API_HEADER_TIMEOUT_MS)),
    idleTimeoutMs: parseLimit("API_IDLE_TIMEOUT_MS", nonEmpty(env.API_IDLE_TIMEOUT_MS)),
    maxConnections: parseLimit("API_MAX_CONNECTIONS", nonEmpty(env.API_MAX_CONNECTIONS)),
    maxStreamsPerConnection: parseLimit("API_MAX_STREAMS", nonEmpty(env.API_MAX_STREAMS)),
    keepAliveTimeMs: parseLimit("API_KEEPALIVE_TIME_MS", nonEmpty(env.API_KEEPALIVE_TIME_MS)),
    keepAliveTimeoutMs: parseLimit("API_KEEPALIVE_TIMEOUT_MS", nonEmpty(env.API_KEEPALIVE_TIMEOUT_MS)),
  };
}

/** `SUBSCRIPTIONS_MAX`, `SUBSCRIPTIONS_PER_CLIENT`, `SUBSCRIPTION_BUFFER`. */
function parseSubscriptions(env: Env): SubscriptionConfig {
  return {
    maxTotal: parsePositiveInt("SUBSCRIPTIONS_MAX", nonEmpty(env.SUBSCRIPTIONS_MAX) ?? "200"),
    maxPerClient: parsePositiveInt(
      "SUBSCRIPTIONS_PER_CLIENT",
      nonEmpty(env.SUBSCRIPTIONS_PER_CLIENT) ?? "20",
    ),
    buffer: parsePositiveInt("SUBSCRIPTION_BUFFER", nonEmpty(env.SUBSCRIPTION_BUFFER) ?? "1024"),
  };
}

/** The configuration as printable data: URL credentials are masked, nothing secret is included. */
export function describeConfig(config: Config): Record<string, string | number | boolean | string[]> {
  const described: Record<string, string | number | boolean | string[]> = {
    roles: ROLES.filter((role) => config.roles.has(role)),
    port: config.port,
    grpcPort: config.grpcPort,
    dataDir: config.dataDir,
    axonPort: config.axonPort,
    axonHttpPort: config.axonHttpPort,
    axonHost: config.axonHost,
    axonServer: config.axonServer ?? "(embedded)",
    axonToken: config.axonToken !== undefined,
    axonTls: config.axonTlsCaFile !== undefined,
    elasticsearchUrl: config.elasticsearchUrl ? redactUrl(config.elasticsearchUrl) : "(SQLite)",
    tls: config.tls !== undefined,
    logLevel: config.logLevel,
    metricsToken: config.metricsToken !== undefined,
  };
  if (config.tls) described.tlsCertFile = config.tls.certFile;
  described.processorClaimTimeoutMs = config.processorClaimTimeoutMs;
  described.projectionThread = config.projectionThread;
  described.subscriptions =
    `${config.subscriptions.maxTotal} in all, ${config.subscriptions.maxPerClient} per client, buffer ${config.subscriptions.buffer}`;
  if (config.processorOwner) described.processorOwner = config.processorOwner;
  if (config.rootKeyModule) described.rootKeyModule = config.rootKeyModule;
  return described;
}

function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.username) copy.username = "***";
  if (copy.password) copy.password = "***";
  copy.search = copy.search ? "?***" : "";
  return copy.href;
}
