/**
 * The program's configuration: environment variables, overridden by command-line flags.
 *
 * `parseConfig` is pure (arguments and environment in, typed config out) and throws a {@link ConfigError} naming
 * the offending setting; `main.ts` prints the message and exits with code 2.
 *
 * @module
 */
import { LimitSettingError, limitsFromEnv, type SomaLimits } from "./soma/limits.ts";

/** A part of the program that a process runs. `all` on the command line means every role in one process. */
export type Role = "soma" | "command" | "projection" | "api";

/** Every role, in start order. */
export const ROLES: readonly Role[] = ["soma", "command", "projection", "api"];

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** TLS for the HTTP listener (PEM files). */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Connection limits of the HTTP listener; unset ones keep the server's defaults (see docs/api.md). */
export interface ApiLimits {
  /** `API_HEADER_TIMEOUT_MS`: time to send a complete request head (or the HTTP/2 preface). */
  readonly headersTimeoutMs?: number;
  /** `API_IDLE_TIMEOUT_MS`: an HTTP/2 connection without an open stream is closed after this. */
  readonly idleTimeoutMs?: number;
  /** `API_MAX_CONNECTIONS`: connections beyond this many are closed at once. */
  readonly maxConnections?: number;
  /** `API_MAX_STREAMS`: concurrent streams per HTTP/2 connection. */
  readonly maxStreamsPerConnection?: number;
  /** `API_KEEPALIVE_TIME_MS`: interval of the server's HTTP/2 keepalive PINGs. */
  readonly keepAliveTimeMs?: number;
  /** `API_KEEPALIVE_TIMEOUT_MS`: an HTTP/2 connection not answering a PING this soon is closed. */
  readonly keepAliveTimeoutMs?: number;
}

/** The program's configuration. */
export interface Config {
  /** `--help` was given: print {@link HELP} and exit. */
  readonly help: boolean;
  /** The roles this process runs (never empty). */
  readonly roles: ReadonlySet<Role>;
  /** HTTP port of the UI and API: Connect, grpc-web, `/healthz` (`PORT`, `--port`; 0 picks a free port). */
  readonly port: number;
  /** Port of the API for gRPC clients, with reflection (`GRPC_PORT`, `--grpc-port`; 0 picks a free port). */
  readonly grpcPort: number;
  /** Where SQLite files live (`DATA_DIR`, `--data-dir`). */
  readonly dataDir: string;
  /** gRPC port of the embedded Axon-API server (`AXON_PORT`). */
  readonly axonPort: number;
  /** HTTP status port of the embedded Axon-API server (`AXON_HTTP_PORT`). */
  readonly axonHttpPort: number;
  /** Interface the embedded Axon-API server listens on (`AXON_HOST`; default 127.0.0.1). */
  readonly axonHost: string;
  /** Connection limits and timeouts of soma's listeners (`SOMA_MAX_CONNECTIONS`, … see `src/soma/limits.ts`). */
  readonly somaLimits?: SomaLimits;
  /** `host:port` of an Axon-API server to connect to instead of the embedded one (`AXON_SERVER`). */
  readonly axonServer?: string;
  /**
   * Access token for the Axon-API server (`AXON_TOKEN`): sent by the connector, required by soma. Unset: the one in
   * `DATA_DIR/secure/soma-token` (soma generates it on first start).
   */
  readonly axonToken?: string;
  /** CA certificates (PEM file) to verify the Axon-API server with; set it to connect over TLS (`AXON_TLS_CA_FILE`). */
  readonly axonTlsCaFile?: string;
  /** Elasticsearch for query models and tokens instead of SQLite (`ELASTICSEARCH_URL`). */
  readonly elasticsearchUrl?: URL;
  /** Prefix of the Elasticsearch indices (`ELASTICSEARCH_INDEX_PREFIX`, default `dendrite-`). */
  readonly elasticsearchIndexPrefix?: string;
  /** TLS on the HTTP listener (`TLS_CERT_FILE` and `TLS_KEY_FILE`, both or neither). */
  readonly tls?: TlsConfig;
  readonly logLevel: LogLevel;
  /** How long the event store remembers a command's idempotency key (`IDEMPOTENCY_WINDOW_SECONDS`, 24 h). */
  readonly idempotencyWindowMs?: number;
  /** Connection limits of the HTTP listener. */
  readonly apiLimits: ApiLimits;
  /**
   * A root key module outside the program (`DENDRITE_ROOT_KEY_MODULE`): tests and tools that must not touch the
   * compiled-in `src/example/security/root_key.generated.ts`. Unset means the compiled-in one.
   */
  readonly rootKeyModule?: string;
  /**
   * The projection processor's claim owner id (`PROCESSOR_OWNER`). Unset: derived from the role, the host name and
   * the data directory, so a restarted process takes its own segments back at once.
   */
  readonly processorOwner?: string;
  /** A processor claim not extended for this long may be taken over (`PROCESSOR_CLAIM_TIMEOUT_MS`, default 10000). */
  readonly processorClaimTimeoutMs: number;
  /** Handler attempts before a poison event is dead-lettered (`PROCESSOR_MAX_ATTEMPTS`, default 10). */
  readonly processorMaxAttempts?: number;
  /** Elasticsearch request timeout (`ELASTICSEARCH_REQUEST_TIMEOUT_MS`, default 30000). */
  readonly elasticsearchRequestTimeoutMs?: number;
  /** Bounds of the API's live Greetings streams. */
  readonly subscriptions: SubscriptionConfig;
  /** Bearer token for `GET /metrics` on the API port (`METRICS_TOKEN`); unset: loopback clients only. */
  readonly metricsToken?: string;
}

/** Bounds of live subscriptions (each holds an initial result, an update buffer and a stream). */
export interface SubscriptionConfig {
  /** Live streams in all (`SUBSCRIPTIONS_MAX`, default 200); more are refused with RESOURCE_EXHAUSTED. */
  readonly maxTotal: number;
  /** Live streams per client address (`SUBSCRIPTIONS_PER_CLIENT`, default 20). */
  readonly maxPerClient: number;
  /** Updates a stream may fall behind before it is dropped with RESOURCE_EXHAUSTED (`SUBSCRIPTION_BUFFER`, 1024). */
  readonly buffer: number;
}

/** A setting that cannot be used; `setting` names the variable or flag. */
export class ConfigError extends Error {
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** The `--help` text. */
export const HELP = `Usage: deno run -A src/main.ts [options]

Runs the application: its command handlers, projections and API (UI, gRPC, grpc-web, Connect).

Options (each overrides its environment variable):
  --role=ROLES        Comma-separated roles: soma, command, projection, api, or all (default: all)
  --port=PORT         HTTP port of the UI and API: Connect, grpc-web, /healthz (PORT, default 8080)
  --grpc-port=PORT    port of the API for gRPC clients, with reflection (GRPC_PORT, default 8081; 0 when PORT is 0)
  --data-dir=DIR      Directory of the SQLite files (DATA_DIR, default ./data)
  --log-level=LEVEL   debug, info, warn or error (LOG_LEVEL, default info)
  -h, --help          Print this help

Environment:
  PORT, GRPC_PORT, DATA_DIR, LOG_LEVEL   as above
  AXON_PORT                   gRPC port of the embedded Axon-API server (default 8124)
  AXON_HTTP_PORT              status port of the embedded Axon-API server (default 8024)
  AXON_HOST                   interface of the embedded Axon-API server (default 127.0.0.1; 0.0.0.0 lets other
                              machines join, with the token)
  AXON_SERVER                 host:port of an Axon-API server to use instead of the embedded one
  AXON_TOKEN                  access token of the Axon-API server (default: DIR/secure/soma-token, which soma
                              generates on first start and requires on its gRPC port and status actions)
  SOMA_MAX_CONNECTIONS        soma: open connections per listener (default 500)
  SOMA_MAX_STREAMS            soma: concurrent streams per HTTP/2 connection (default 1000)
  SOMA_HEADER_TIMEOUT_MS      soma: HTTP/1.1 header block and TLS handshake deadline (default 10000)
  SOMA_IDLE_TIMEOUT_MS        soma: close connections without open streams after this (default 60000)
  SOMA_KEEPALIVE_TIME_MS, SOMA_KEEPALIVE_TIMEOUT_MS  soma: gRPC ping interval and answer deadline (10000, 5000)
  AXON_TLS_CA_FILE            PEM CA file: connect to AXON_SERVER over TLS, verifying it
  ELASTICSEARCH_URL           Elasticsearch for query models and tokens instead of SQLite
  ELASTICSEARCH_INDEX_PREFIX  prefix of the Elasticsearch indices (default dendrite-)
  TLS_CERT_FILE, TLS_KEY_FILE PEM certificate chain and key: serve HTTPS (HTTP/2 and HTTP/1.1) and gRPC over
                              TLS on the embedded Axon-API server
  DENDRITE_ADMIN_PASSWORD     password of user "admin" (default: generated into DIR/secure/admin-password)
  IDEMPOTENCY_WINDOW_SECONDS  how long a command's idempotency key is remembered (default 86400)
  DENDRITE_ROOT_KEY_MODULE    root key module to load instead of the compiled-in one (tests, tools)
  PROCESSOR_OWNER             claim owner id of the projection processor (default: role, host name and data
                              directory, so a restart takes its own segments back at once; must differ between
                              live processes)
  PROCESSOR_CLAIM_TIMEOUT_MS  a processor claim not extended for this long is taken over (default 10000)
  PROCESSOR_MAX_ATTEMPTS      handler attempts before a poison event is dead-lettered (default 10; an
                              unavailable store never counts as an attempt)
  ELASTICSEARCH_REQUEST_TIMEOUT_MS  Elasticsearch request timeout (default 30000)
  SUBSCRIPTIONS_MAX           live Greetings streams in all (default 200; more get RESOURCE_EXHAUSTED)
  SUBSCRIPTIONS_PER_CLIENT    live Greetings streams per client address (default 20)
  SUBSCRIPTION_BUFFER         updates a stream may fall behind before it is dropped (default 1024)
  API_* limits below apply to GRPC_PORT; PORT runs on Deno.serve with the runtime's own limits
  API_HEADER_TIMEOUT_MS       close a connection that takes longer to send a request head (default 10000)
  API_IDLE_TIMEOUT_MS         close an HTTP/2 connection without open streams after this (default 60000)
  API_MAX_CONNECTIONS         connections the HTTP port holds at most (default 4096)
  API_MAX_STREAMS             concurrent streams per HTTP/2 connection (default 1000)
  API_KEEPALIVE_TIME_MS       send an HTTP/2 PING this long after the previous answer (default 60000)
  API_KEEPALIVE_TIMEOUT_MS    close an HTTP/2 connection that does not answer a PING this soon (default 20000)
  METRICS_TOKEN               bearer token for GET /metrics on the API port (default: loopback clients only;
                              soma's /metrics needs soma's token)
`;

type Flag = "role" | "port" | "grpc-port" | "data-dir" | "log-level";
const FLAGS: readonly Flag[] = ["role", "port", "grpc-port", "data-dir", "log-level"];

function isFlag(name: string): name is Flag {
  return (FLAGS as readonly string[]).includes(name);
}

function parseFlags(args: readonly string[]): { help: boolean; values: Map<Flag, string[]> } {
  const values = new Map<Flag, string[]>();
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new ConfigError(arg, `Unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!isFlag(name)) throw new ConfigError(`--${name}`, `Unknown option "--${name}" (see --help)`);
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("-")) {
        throw new ConfigError(`--${name}`, `Option "--${name}" needs a value`);
      }
      value = next;
      i++;
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return { help, values };
}

function parsePort(setting: string, text: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(setting, `${setting} must be a port number from 0 to 65535, got "${text}"`);
  }
  return port;
}

function parseRoles(setting: string, lists: readonly string[]): ReadonlySet<Role> {
  const roles = new Set<Role>();
  for (const list of lists) {
    for (const raw of list.split(",")) {
      const name = raw.trim();
      if (name === "all") {
        for (const role of ROLES) roles.add(role);
      } else if ((ROLES as readonly string[]).includes(name)) {
        roles.add(name as Role);
      } else {
        throw new ConfigError(
          setting,
          `Unknown role "${name}"; use soma, command, projection, api or all (comma-separated)`,
        );
      }
    }
  }
  return roles;
}

function parseLogLevel(setting: string, text: string): LogLevel {
  const level = text.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(setting, `${setting} must be debug, info, warn or error, got "${text}"`);
  }
  return level as LogLevel;
}

function parseHostPort(setting: string, text: string): string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!match) throw new ConfigError(setting, `${setting} must be host:port, got "${text}"`);
  parsePort(setting, match[2]);
  return text.trim();
}

function parseHttpUrl(setting: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(setting, `${setting} must be an http(s) URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(setting, `${setting} must be an http(s) URL, got scheme "${url.protocol}"`);
  }
  return url;
}

function parseSomaLimits(env: Readonly<Record<string, string | undefined>>): SomaLimits {
  try {
    return limitsFromEnv(env);
  } catch (error) {
    if (error instanceof LimitSettingError) throw new ConfigError(error.setting, error.message);
    throw error;
  }
}

/** An optional positive whole number from the environment: undefined when unset. */
function optionalPositiveInt(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): number | undefined {
  const text = nonEmpty(env[name]);
  return text === undefined ? undefined : parsePositiveInt(name, text);
}

function parsePositiveInt(setting: string, text: string): number {
  const value = /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(setting, `${setting} must be a whole number above 0, got "${text}"`);
  }
  return value;
}

function parseLimit(setting: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : parsePositiveInt(setting, text);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

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
export function parseConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Config {
  const { help, values } = parseFlags(args);
  const flag = (name: Flag): string | undefined => values.get(name)?.at(-1);

  const portFlag = flag("port");
  const port = portFlag !== undefined
    ? parsePort("--port", portFlag)
    : parsePort("PORT", nonEmpty(env.PORT) ?? "8080");
  const grpcPortFlag = flag("grpc-port");
  const grpcPort = grpcPortFlag !== undefined
    ? parsePort("--grpc-port", grpcPortFlag)
    // With an ephemeral front door (PORT=0, tests), the gRPC port is ephemeral too unless set.
    : parsePort("GRPC_PORT", nonEmpty(env.GRPC_PORT) ?? (port === 0 ? "0" : "8081"));
  if (port !== 0 && port === grpcPort) {
    throw new ConfigError("GRPC_PORT", `PORT and GRPC_PORT must differ, both are ${port}`);
  }

  const dataDir = flag("data-dir") ?? nonEmpty(env.DATA_DIR) ?? "./data";
  if (dataDir.trim() === "") throw new ConfigError("--data-dir", "--data-dir must not be empty");

  const roleLists = values.get("role");
  const roles = roleLists ? parseRoles("--role", roleLists) : new Set<Role>(ROLES);

  const levelFlag = flag("log-level");
  const logLevel = levelFlag !== undefined
    ? parseLogLevel("--log-level", levelFlag)
    : parseLogLevel("LOG_LEVEL", nonEmpty(env.LOG_LEVEL) ?? "info");

  const certFile = nonEmpty(env.TLS_CERT_FILE);
  const keyFile = nonEmpty(env.TLS_KEY_FILE);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      certFile === undefined ? "TLS_CERT_FILE" : "TLS_KEY_FILE",
      "TLS_CERT_FILE and TLS_KEY_FILE must be set together",
    );
  }

  const axonServer = nonEmpty(env.AXON_SERVER);
  const elasticsearch = nonEmpty(env.ELASTICSEARCH_URL);
  return {
    help,
    roles,
    port,
    grpcPort,
    dataDir,
    axonPort: parsePort("AXON_PORT", nonEmpty(env.AXON_PORT) ?? "8124"),
    axonHttpPort: parsePort("AXON_HTTP_PORT", nonEmpty(env.AXON_HTTP_PORT) ?? "8024"),
    axonHost: nonEmpty(env.AXON_HOST) ?? "127.0.0.1",
    somaLimits: parseSomaLimits(env),
    axonServer: axonServer === undefined ? undefined : parseHostPort("AXON_SERVER", axonServer),
    axonToken: nonEmpty(env.AXON_TOKEN),
    axonTlsCaFile: nonEmpty(env.AXON_TLS_CA_FILE),
    elasticsearchUrl: elasticsearch === undefined
      ? undefined
      : parseHttpUrl("ELASTICSEARCH_URL", elasticsearch),
    elasticsearchIndexPrefix: nonEmpty(env.ELASTICSEARCH_INDEX_PREFIX),
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
    logLevel,
    idempotencyWindowMs: parseSeconds(
      "IDEMPOTENCY_WINDOW_SECONDS",
      nonEmpty(env.IDEMPOTENCY_WINDOW_SECONDS) ?? "86400",
    ),
    apiLimits: {
      headersTimeoutMs: parseLimit("API_HEADER_TIMEOUT_MS", nonEmpty(env.API_HEADER_TIMEOUT_MS)),
      idleTimeoutMs: parseLimit("API_IDLE_TIMEOUT_MS", nonEmpty(env.API_IDLE_TIMEOUT_MS)),
      maxConnections: parseLimit("API_MAX_CONNECTIONS", nonEmpty(env.API_MAX_CONNECTIONS)),
      maxStreamsPerConnection: parseLimit("API_MAX_STREAMS", nonEmpty(env.API_MAX_STREAMS)),
      keepAliveTimeMs: parseLimit("API_KEEPALIVE_TIME_MS", nonEmpty(env.API_KEEPALIVE_TIME_MS)),
      keepAliveTimeoutMs: parseLimit("API_KEEPALIVE_TIMEOUT_MS", nonEmpty(env.API_KEEPALIVE_TIMEOUT_MS)),
    },
    rootKeyModule: nonEmpty(env.DENDRITE_ROOT_KEY_MODULE),
    processorOwner: nonEmpty(env.PROCESSOR_OWNER),
    processorClaimTimeoutMs: parsePositiveInt(
      "PROCESSOR_CLAIM_TIMEOUT_MS",
      nonEmpty(env.PROCESSOR_CLAIM_TIMEOUT_MS) ?? "10000",
    ),
    processorMaxAttempts: optionalPositiveInt(env, "PROCESSOR_MAX_ATTEMPTS"),
    elasticsearchRequestTimeoutMs: optionalPositiveInt(env, "ELASTICSEARCH_REQUEST_TIMEOUT_MS"),
    subscriptions: {
      maxTotal: parsePositiveInt("SUBSCRIPTIONS_MAX", nonEmpty(env.SUBSCRIPTIONS_MAX) ?? "200"),
      maxPerClient: parsePositiveInt(
        "SUBSCRIPTIONS_PER_CLIENT",
        nonEmpty(env.SUBSCRIPTIONS_PER_CLIENT) ?? "20",
      ),
      buffer: parsePositiveInt("SUBSCRIPTION_BUFFER", nonEmpty(env.SUBSCRIPTION_BUFFER) ?? "1024"),
    },
    metricsToken: nonEmpty(env.METRICS_TOKEN),
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
  described.subscriptions =
    `${config.subscriptions.maxTotal} in all, ${config.subscriptions.maxPerClient} per client, buffer ${config.subscriptions.buffer}`;
  if (config.processorOwner) described.processorOwner = config.processorOwner;
  if (config.rootKeyModule) described.rootKeyModule = config.rootKeyModule;
  return described;
}

function parseSeconds(setting: string, value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(seconds * 1000) || seconds < 1) {
    throw new ConfigError(setting, `${setting} must be a whole number of seconds ≥ 1, got "${value}"`);
  }
  return seconds * 1000;
}

function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.username) copy.username = "***";
  if (copy.password) copy.password = "***";
  copy.search = copy.search ? "?***" : "";
  return copy.href;
}
