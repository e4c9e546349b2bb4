/**
 * The composition root: which adapters sit behind the ports, and which roles run in this process. `main.ts` calls
 * {@link startProgram}; nothing else decides about adapters (the projection's stores are opened by
 * `query_stores.ts` for it).
 *
 * - Without `AXON_SERVER`, soma runs in this process (SQLite under the data directory) and the roles use it
 *   directly, with no gRPC hop; soma also listens on `AXON_PORT` so other processes can join.
 * - With `AXON_SERVER`, the roles reach that server (soma in another process, or Axon Server) through the connector.
 * - `ELASTICSEARCH_URL` puts the projection's query model and tokens in Elasticsearch instead of SQLite.
 *
 * @module
 */
import { hostname } from "node:os";
import { type EventStore, MessageRegistry, type Upcaster } from "../dendrite/mod.ts";
import { DurableHead, type Synchronous } from "../dendrite/sqlite/mod.ts";
import { type AxonConnectionOptions, type AxonConnector, connectAxon } from "../dendrite/axon/mod.ts";
import {
  meteredCommandBus,
  meteredQueryBus,
  Metrics,
  ProcessorMetrics,
  tracedCommandBus,
  tracedQueryBus,
} from "../dendrite/observability/mod.ts";
import { loadOrCreateSomaToken, readSomaToken, type Soma, somaTokenPath, startSoma } from "../soma/mod.ts";
import type { ProgramConfig } from "./program_config.ts";
import { errorFields, type Logger, silentLogger } from "../server/log.ts";
import { Closers } from "./closers.ts";
import { openQueryStores, processorOwner } from "./query_stores.ts";
import { type ApiOptions, type RunningApi, startApi } from "./api_role.ts";
import type { AppPorts } from "./features.ts";
import { rejectedEventsSection } from "./security/mod.ts";
import { measuredHost, type ProcessorHost } from "./processors.ts";
import { startProjectionThread } from "./projection_thread.ts";
// dendrite:example:begin
import { file_example_v1_domain } from "../gen/example/v1/domain_pb.ts";
import { file_example_v1_greeter } from "../gen/example/v1/greeter_pb.ts";
import { startGreeter } from "./greeter/mod.ts";
// dendrite:example:end
// dendrite:scaffold:imports

/** The Axon component name of every process of the example. */
export const COMPONENT = "dendrite-example";

/** Segments of the greeter projection's processor when it is first created. */
export const PROJECTION_SEGMENTS = 4;

/** A registry with the example's messages: every process must know the payload types it sends or receives. */
export function exampleRegistry(): MessageRegistry {
  return new MessageRegistry().addFiles(
    file_example_v1_domain, // dendrite:example
    file_example_v1_greeter, // dendrite:example
    // dendrite:scaffold:registry
  );
}

/** Options that do not come from the configuration. */
export interface ProgramOptions extends Pick<ApiOptions, "ui" | "env" | "scrypt"> {
  /** SQLite durability (default FULL: an acknowledged command survives a power cut; NORMAL is an opt-in). */
  readonly synchronous?: Synchronous;
  /** Aborts start-up (e.g. a shutdown signal while waiting for `AXON_SERVER`). */
  readonly signal?: AbortSignal;
  /** Upcasters for stored payloads of older revisions (the way out of poison events of an old format). */
  readonly upcasters?: readonly Upcaster[];
  /**
   * Runs the `projection` role on a thread of its own when soma is embedded (default false; the program turns it
   * on unless `PROJECTION_THREAD=false`): see `projection_thread.ts`. Not with TLS (the thread joins soma in cleartext).
   */
  readonly projectionThread?: boolean;
  /** The events the `projection` role's processors read (default: the ports' event store); the thread's own. */
  readonly projectionEvents?: EventStore;
  /** Lists the processors there instead of with soma or the connector (the projection thread's worker). */
  readonly processorHost?: ProcessorHost;
  /** The connector's query handler streams on these ports instead of gRPC (the projection thread's worker). */
  readonly queryHandlerPort?: AxonConnectionOptions["queryHandlerPort"];
}

/** What runs in this process. */
export interface Program {
  /** soma, when it runs in this process. */
  readonly soma?: Soma;
  /** The ports the roles use (absent when this process only runs soma). */
  readonly ports?: AppPorts;
  /** The API role's server, when this process runs it. */
  readonly api?: RunningApi;
  /** This process' metrics (the roles' buses and processors; served at the API port's `/metrics`). */
  readonly metrics: Metrics;
  /** Stops every role in reverse order of start. Safe to call twice. */
  stop(): Promise<void>;
}

export type { ProgramConfig } from "./program_config.ts";

async function readTls(config: ProgramConfig): Promise<{ cert: string; key: string } | undefined> {
  if (!config.tls) return undefined;
  return {
    cert: await Deno.readTextFile(config.tls.certFile),
    key: await Deno.readTextFile(config.tls.keyFile),
  };
}

/**
 * Starts the configured roles: `soma`, `command` (the greeter's command handlers), `projection` (its tracking
 * processor and query handlers) and `api` (security, the greeter API and the UI).
 *
 * @example
 * ```ts ignore
 * const program = await startProgram(parseConfig(Deno.args, Deno.env.toObject()), logger, { ui: await buildUi() });
 * // … until a shutdown signal …
 * await program.stop();
 * ```
 */
export async function startProgram(
  config: ProgramConfig,
  logger: Logger,
  options: ProgramOptions = {},
): Promise<Program> {
  const start = new ProgramStart(config, logger, options);
  try {
    return await start.run();
  } catch (error) {
    await start.closers.stop();
    throw error;
  }
}

/** One start of the program: what the roles share, and what has to be closed again. */
class ProgramStart {
  readonly closers: Closers;
  readonly #config: ProgramConfig;
  readonly #logger: Logger;
  readonly #options: ProgramOptions;
  /** The roles' processors, measured (set with the ports). */
  #processorMetrics: ProcessorMetrics | undefined;
  /** soma's durable head for the projection thread (none: the projection runs on this thread). */
  readonly #head: DurableHead | undefined;
  readonly #registry = exampleRegistry();
  readonly #metrics = new Metrics();
  /** Named after the roles and the host, so the dashboard says which process is which. */
  readonly #clientId: string;

  constructor(config: ProgramConfig, logger: Logger, options: ProgramOptions) {
    this.closers = new Closers(logger);
    this.#config = config;
    this.#logger = logger;
    this.#options = options;
    const embedded = config.roles.has("soma") || !config.axonServer;
    if (options.projectionThread && embedded && config.roles.has("projection") && !config.tls) {
      this.#head = new DurableHead();
    }
    for (const upcaster of options.upcasters ?? []) this.#registry.addUpcaster(upcaster);
    const roles = [...config.roles].filter((r) => r !== "soma").join("+") || "soma";
    this.#clientId = `${roles}@${hostname()}-${Deno.pid}`;
  }

  /** Starts soma and the roles in order; on failure the caller closes what started ({@link closers}). */
  async run(): Promise<Program> {
    const config = this.#config;
    const metrics = this.#metrics;
    const stop = () => this.closers.stop();
    await Deno.mkdir(config.dataDir, { recursive: true });
    const soma = config.roles.has("soma") || !config.axonServer ? await this.#startSoma() : undefined;
    const roles = [...config.roles].filter((role) => role !== "soma");
    if (roles.length === 0) return { soma, metrics, stop };
    const axon = config.axonServer ? await this.#connect(config.axonServer) : undefined;
    const ports = this.#ports(axon, soma);
    if (config.roles.has("command")) await this.#startCommandRole(ports, this.closers);
    if (config.roles.has("projection")) {
      if (soma && this.#head) await this.#startProjectionThread(soma, this.#head);
      else await this.#startProjectionRole(ports, this.closers);
    }
    const api = config.roles.has("api") ? await this.#startApiRole(ports, soma) : undefined;
    return { soma, ports, api, metrics, stop };
  }

  /** soma in this process: the roles use it directly; it also listens on `AXON_PORT` for other processes. */
  async #startSoma(): Promise<Soma> {
    const config = this.#config;
    const logger = this.#logger;
    const soma = await startSoma({
      dataDir: config.dataDir,
      host: config.axonHost,
      port: config.axonPort,
      httpPort: config.axonHttpPort,
      registry: this.#registry,
      synchronous: this.#options.synchronous,
      idempotencyWindowMs: config.idempotencyWindowMs,
      accessToken: config.axonToken ?? await loadOrCreateSomaToken(config.dataDir),
      limits: config.somaLimits,
      subscriptionLimits: config.subscriptions,
      tls: await readTls(config),
      local: { clientId: this.#clientId, component: COMPONENT },
      durableHead: this.#head,
      onError: (error, where) => logger.error("soma failure", { where, ...errorFields(error) }),
    });
    this.closers.push(() => soma.close());
    logger.info("soma listening", {
      host: config.axonHost,
      port: soma.port,
      httpPort: soma.httpPort ?? null,
      token: config.axonToken === undefined ? somaTokenPath(config.dataDir) : "AXON_TOKEN",
    });
    return soma;
  }

  /** The Axon-API server at `address` (soma in another process, or Axon Server), through the connector. */
  async #connect(address: string): Promise<AxonConnector> {
    const config = this.#config;
    const logger = this.#logger;
    logger.info("connecting", { axonServer: address });
    const axon = await connectAxon(
      {
        address,
        componentName: COMPONENT,
        clientId: this.#clientId,
        token: config.axonToken ?? await readSomaToken(config.dataDir),
        tls: config.axonTlsCaFile ? { ca: await Deno.readFile(config.axonTlsCaFile) } : undefined,
        queryHandlerPort: this.#options.queryHandlerPort,
        onStateChange: (state, detail) =>
          state === "connected"
            ? logger.info("connected to the Axon server", { detail: String(detail) })
            : logger.warn("disconnected from the Axon server (reconnecting)", { detail: String(detail) }),
      },
      this.#registry,
      this.#options.signal,
    );
    this.closers.push(() => axon.close());
    return axon;
  }

  /** The roles' ports on the connector, else on the embedded soma. */
  #ports(axon: AxonConnector | undefined, soma: Soma | undefined): AppPorts {
    const bus = axon ?? soma!;
    this.#processorMetrics = new ProcessorMetrics(this.#metrics, () => bus.eventStore.lastToken());
    return {
      // Metered always; traced too when tracing is on (OTEL_DENO=true).
      commandBus: meteredCommandBus(tracedCommandBus(bus.commandBus), this.#metrics),
      queryBus: meteredQueryBus(tracedQueryBus(bus.queryBus), this.#metrics),
      eventStore: bus.eventStore,
      registry: this.#registry,
      // Every processor started on these ports lists itself here (the dashboard, /metrics), with no extra call.
      processors: this.#measuredHost(axon ? axon.connection : soma!),
    };
  }

  /** `host` (or `options.processorHost`), with every processor listed there also measured by this process. */
  #measuredHost(host: ProcessorHost): ProcessorHost {
    return measuredHost(this.#options.processorHost ?? host, this.#processorMetrics!);
  }

  /** The `command` role: every aggregate's command handlers. */
  async #startCommandRole(ports: AppPorts, closers: Closers): Promise<void> {
    // dendrite:example:begin
    const greeter = await startGreeter(ports, { command: true, projection: false });
    closers.push(() => greeter.stop());
    // dendrite:example:end
    // dendrite:scaffold:command
  }

  /** The `projection` role: every projection's processor and the query handlers, on the query stores. */
  async #startProjectionRole(ports: AppPorts, closers: Closers): Promise<void> {
    const config = this.#config;
    const logger = this.#logger;
    const stores = openQueryStores(config, this.#options.synchronous);
    closers.push(stores.close);
    const queryPorts = {
      ...ports,
      eventStore: this.#options.projectionEvents ?? ports.eventStore,
      tokenStore: stores.tokenStore,
      documentStore: stores.documentStore,
      deadLetters: stores.deadLetters,
    };
    // Every projection's processor in this process runs with these options.
    const processing = {
      deadLetters: stores.deadLetters,
      initialSegments: PROJECTION_SEGMENTS,
      owner: config.processorOwner ?? await processorOwner(config.dataDir),
      claimTimeoutMs: config.processorClaimTimeoutMs,
      poison: { maxAttempts: config.processorMaxAttempts },
      tokenInUnitOfWork: stores.shared,
      onError: (error: unknown, where: { processor: string; segment: number }) =>
        logger.warn("processor error (retrying)", { ...where, ...errorFields(error) }),
    };
    // dendrite:example:begin
    const greeter = await startGreeter(queryPorts, {
      command: false,
      projection: true,
      segments: processing.initialSegments,
      owner: processing.owner,
      claimTimeoutMs: processing.claimTimeoutMs,
      maxAttempts: processing.poison.maxAttempts,
      tokenInUnitOfWork: processing.tokenInUnitOfWork,
      onError: processing.onError,
    });
    closers.push(() => greeter.stop());
    // dendrite:example:end
    // dendrite:scaffold:projection
    // dendrite:scaffold:queries
  }

  /** The `projection` role on a thread of its own, joined to the embedded soma over loopback. */
  async #startProjectionThread(soma: Soma, head: DurableHead): Promise<void> {
    const { roles: _roles, elasticsearchUrl, ...config } = this.#config;
    const host = ["0.0.0.0", "::", ""].includes(config.axonHost) ? "127.0.0.1" : config.axonHost;
    const thread = await startProjectionThread(
      {
        ...config,
        axonServer: `${host.includes(":") ? `[${host}]` : host}:${soma.port}`,
        elasticsearchUrl: elasticsearchUrl?.href,
      },
      {
        head,
        logger: this.#logger,
        synchronous: this.#options.synchronous,
        hosts: { soma, measured: this.#processorMetrics },
        serveQueryHandler: soma.serveQueryHandler,
      },
    );
    this.closers.push(() => thread.stop());
    this.#metrics.observedGauge({
      name: "dendrite_projection_thread_running",
      help: "1 while the projection's worker thread runs, 0 while it is started again after a failure.",
      labels: [],
    }, (record) => record({}, thread.running ? 1 : 0));
    this.#metrics.observedCounter({
      name: "dendrite_projection_thread_starts_total",
      help: "Starts of the projection's worker thread (1, plus one per restart after a failure).",
      labels: [],
    }, (record) => record({}, thread.starts));
    this.#logger.info("projection thread started");
  }

  /** The `api` role; embedded, soma's status page also lists the security events the model ignored. */
  async #startApiRole(ports: AppPorts, soma: Soma | undefined): Promise<RunningApi> {
    const api = await startApi(ports, this.#config, this.#logger, {
      ...this.#options,
      metrics: this.#metrics,
    });
    this.closers.push(() => api.stop());
    const security = api.security;
    if (soma) {
      this.closers.push(soma.addStatusSection(() => rejectedEventsSection(security.rejectedEvents())));
    }
    this.#logger.info("listening", {
      url: api.server.url,
      port: api.server.port,
      grpcPort: api.server.grpcPort,
    });
    return api;
  }
}

/** The embedded application without its API: soma in-process plus the greeter's command and projection roles. */
export interface Embedded {
  readonly ports: AppPorts;
  readonly soma: Soma;
  close(): Promise<void>;
}

/**
 * Starts soma in this process (gRPC on an ephemeral loopback port, no status page) with the greeter's command
 * handlers and projection — what tests and tools need to put their own API in front.
 *
 * @example
 * ```ts ignore
 * const app = await createEmbedded({ dataDir: await Deno.makeTempDir() });
 * const api = await startApi(app.ports, config, logger);
 * ```
 */
export async function createEmbedded(
  config: { readonly dataDir: string },
  options: Pick<ProgramOptions, "synchronous" | "projectionThread"> & { readonly logger?: Logger } = {},
): Promise<Embedded> {
  const program = await startProgram(
    {
      roles: new Set(["command", "projection"]),
      port: 0,
      dataDir: config.dataDir,
      axonHost: "127.0.0.1",
      axonPort: 0,
      axonHttpPort: 0,
    },
    options.logger ?? silentLogger,
    options,
  );
  return { ports: program.ports!, soma: program.soma!, close: program.stop };
}
