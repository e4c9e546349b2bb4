/**
 * The program's configuration as typed data: roles, log levels, the {@link Config} record and the error that
 * names a setting that cannot be used.
 *
 * @module
 */
import type { SomaLimits } from "../soma/limits.ts";

/** A part of the program that a process runs. `all` on the command line means every role in one process. */
export type Role = "soma" | "command" | "projection" | "api";

/** Every role, in start order. */
export const ROLES: readonly Role[] = ["soma", "command", "projection", "api"];

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Every log level, least severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

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
  /**
   * Run the projection role on a thread of its own when soma is embedded (`PROJECTION_THREAD`, default true;
   * never with TLS): see `src/example/projection_thread.ts`.
   */
  readonly projectionThread: boolean;
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
