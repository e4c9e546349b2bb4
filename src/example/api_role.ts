/**
 * The API role: the security domain on the given ports (provisioned as in embedded mode), the security services
 * and the greeter API behind one auth interceptor (`GREETER_POLICY` plus the security API's own policy), and the
 * HTTP server with the UI.
 *
 * `main.ts` calls {@link startApi} with the embedded ports; an `api`-only process calls it the same way with
 * ports that reach the command bus, query bus and event store elsewhere (see the notes on {@link ApiPorts}).
 *
 * @module
 */
import type { CommandBus, EventStore, MessageRegistry, QueryBus } from "../dendrite/mod.ts";
import type { Metrics } from "../dendrite/observability/mod.ts";
import type { ScryptParams, SecurityLogger } from "../dendrite/security/mod.ts";
import type { Config } from "../config.ts";
import { type Logger, type RunningServer, startServer, type UiAssets } from "../server/mod.ts";
import { errorFields } from "../server/log.ts";
import { errorMappingInterceptor } from "./api/errors.ts";
import {
  ADMIN,
  ADMIN_PASSWORD_ENV,
  APP_POLICY,
  provisionEmbedded,
  registerSecurityServices,
  type SecurityRuntime,
} from "./security/mod.ts";
import { exampleApi } from "./api/mod.ts"; // dendrite:example
// dendrite:scaffold:imports

/**
 * What the API role needs.
 *
 * - `commandBus`: the greeter's commands go out on it; the security domain also registers the command handlers
 *   of its aggregates on it (keys, credentials, properties), so they run in this process.
 * - `queryBus`: the greeter's queries and live subscriptions.
 * - `eventStore`: the security aggregates are loaded from and appended to it, and the security model is
 *   rebuilt from its whole stream at every start (in-memory token store); `lastToken()` is how a change waits
 *   until the model shows it.
 * - `registry`: the protobuf types of the security events and commands are registered in it.
 */
export interface ApiPorts {
  readonly commandBus: CommandBus;
  readonly queryBus: QueryBus;
  readonly eventStore: EventStore;
  readonly registry: MessageRegistry;
}

/** What {@link startApi} reads from the configuration. */
export type ApiConfig =
  & Pick<Config, "port" | "dataDir" | "tls" | "rootKeyModule">
  & Partial<Pick<Config, "grpcPort" | "subscriptions" | "apiLimits" | "metricsToken">>;

/** Options that do not come from the configuration. */
export interface ApiOptions {
  /** The bundled UI (`buildUi()`); without it only the API and `/healthz` are served. */
  readonly ui?: UiAssets;
  /** Interface to listen on (default: all). */
  readonly hostname?: string;
  /** How long shutdown waits for unfinished requests (default 10 s). */
  readonly shutdownDeadlineMs?: number;
  /** Reads the environment, for `DENDRITE_ADMIN_PASSWORD` (default `Deno.env.get`). */
  readonly env?: (name: string) => string | undefined;
  /** scrypt cost of new password hashes (default: the production parameters; tests lower them). */
  readonly scrypt?: ScryptParams;
  /** Counts the API's calls here and serves it at `GET /metrics` (token: `metricsToken`; else loopback only). */
  readonly metrics?: Metrics;
}

/** The running API role. */
export interface RunningApi {
  readonly server: RunningServer;
  readonly security: SecurityRuntime;
  /** Where the generated admin password is, when there is such a file. */
  readonly adminPasswordFile?: string;
  /** Stops the server (gracefully, see `RunningServer.shutdown`), then the security domain. Safe to call twice. */
  stop(): Promise<void>;
}

/** The security domain's messages as structured log records (`component: "security"`); they carry no secret. */
export function securityLogger(logger: Logger): SecurityLogger {
  return {
    info: (message) => logger.info(message, { component: "security" }),
    warn: (message, fields) => logger.warn(message, { ...fields, component: "security" }),
  };
}

async function readTls(tls: Config["tls"]): Promise<{ cert: string; key: string } | undefined> {
  if (!tls) return undefined;
  return { cert: await Deno.readTextFile(tls.certFile), key: await Deno.readTextFile(tls.keyFile) };
}

/**
 * Provisions and starts the security domain on `ports`, then serves the security services and the greeter API
 * (Greet, Search, Greetings and GetStatus public; Record and Stop for role `admin`) with the UI. Logs where the
 * admin password comes from, never the password.
 *
 * @example
 * ```ts ignore
 * const app = await createEmbedded(config);
 * const api = await startApi(app.ports, config, logger, { ui: await buildUi() });
 * // … until a shutdown signal …
 * await api.stop();
 * await app.close();
 * ```
 */
export async function startApi(
  ports: ApiPorts,
  config: ApiConfig,
  logger: Logger,
  options: ApiOptions = {},
): Promise<RunningApi> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const tls = await readTls(config.tls);
  const { security, adminPasswordFile } = await provisionEmbedded({
    dataDir: config.dataDir,
    commandBus: ports.commandBus,
    eventStore: ports.eventStore,
    registry: ports.registry,
    rootKeyModule: config.rootKeyModule,
    env,
    scrypt: options.scrypt,
    logger: securityLogger(logger),
    onError: (error, where) =>
      logger.warn("security processor error (retrying)", { ...where, ...errorFields(error) }),
  });
  try {
    logAdminSignIn(logger, env, adminPasswordFile);
    const server = await serveApi(ports, config, logger, options, security, tls);
    return new ApiRole(server, security, adminPasswordFile);
  } catch (error) {
    await security.stop();
    throw error;
  }
}

/** Where the admin password comes from (never the password). */
function logAdminSignIn(
  logger: Logger,
  env: (name: string) => string | undefined,
  adminPasswordFile: string | undefined,
): void {
  if (env(ADMIN_PASSWORD_ENV)) {
    logger.info("admin sign-in", { identifier: ADMIN.identifier, passwordFrom: ADMIN_PASSWORD_ENV });
  } else if (adminPasswordFile !== undefined) {
    logger.info("admin sign-in", { identifier: ADMIN.identifier, passwordFile: adminPasswordFile });
  } else {
    logger.warn("admin sign-in: the password was set at an earlier start and its file is gone", {
      identifier: ADMIN.identifier,
      hint: `set ${ADMIN_PASSWORD_ENV} to choose a new one`,
    });
  }
}

/** The HTTP server with the security services and the application's services behind the auth interceptor. */
async function serveApi(
  ports: ApiPorts,
  config: ApiConfig,
  logger: Logger,
  options: ApiOptions,
  security: SecurityRuntime,
  tls: { cert: string; key: string } | undefined,
): Promise<RunningServer> {
  const auth = security.interceptor(APP_POLICY);
  // Every service gets the error mapping, then the auth interceptor.
  const interceptors = [errorMappingInterceptor(logger), auth];
  // dendrite:example:begin
  const greeterRoutes = exampleApi({
    commandBus: ports.commandBus,
    queryBus: ports.queryBus,
    logger,
    auth,
    subscriptions: config.subscriptions,
  });
  // dendrite:example:end
  return await startServer({
    port: config.port,
    // Unset (tests, tools): a free port.
    grpcPort: config.grpcPort ?? 0,
    hostname: options.hostname,
    tls,
    logger,
    ui: options.ui,
    shutdownDeadlineMs: options.shutdownDeadlineMs,
    limits: config.apiLimits,
    metrics: options.metrics && { metrics: options.metrics, access: { token: config.metricsToken } },
    api(router, context) {
      registerSecurityServices(router, security, { interceptors });
      greeterRoutes(router, context); // dendrite:example
      // dendrite:scaffold:services
    },
  });
}

/** The running API role: its server, then its security domain, stopped once. */
class ApiRole implements RunningApi {
  readonly server: RunningServer;
  readonly security: SecurityRuntime;
  readonly adminPasswordFile?: string;
  #stopping: Promise<void> | undefined;

  constructor(server: RunningServer, security: SecurityRuntime, adminPasswordFile: string | undefined) {
    this.server = server;
    this.security = security;
    this.adminPasswordFile = adminPasswordFile;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    try {
      await this.server.shutdown();
    } finally {
      await this.security.stop();
    }
  }
}
