/**
 * The program's HTTP server: one port for HTTP/1.1 and HTTP/2 (cleartext or TLS) serving `/healthz`, the UI and
 * the RPC services in gRPC, grpc-web and Connect, with gRPC server reflection for every registered service.
 *
 * @module
 */
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { createHttpHandler, MAX_MESSAGE_BYTES } from "./http.ts";
import type { ConnectionLimits } from "./limits.ts";
import { listen } from "./listener.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "../dendrite/observability/metrics.ts";
import type { MetricsAccess } from "./metrics.ts";
import { registerReflection } from "./reflection.ts";
import type { UiAssets } from "./ui.ts";

export { MAX_MESSAGE_BYTES } from "./http.ts";
export { type ConnectionLimits, DEFAULT_LIMITS } from "./limits.ts";
export { createLogger, type Logger, silentLogger } from "./log.ts";
export { buildUi, type UiAssets } from "./ui.ts";
export type { MetricsAccess } from "./metrics.ts";

/** What API modules get when they register their services. */
export interface ApiContext {
  /** Aborts when the server shuts down: long-lived streams should end then. */
  readonly shutdown: AbortSignal;
}

/** Registers RPC services on the router. */
export type ApiRoutes = (router: ConnectRouter, context: ApiContext) => void;

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly hostname?: string;
  /** PEM certificate chain and key. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly api: ApiRoutes;
  readonly logger: Logger;
  readonly ui?: UiAssets;
  /** Default 4 MiB. */
  readonly maxMessageBytes?: number;
  /** How long shutdown waits for unfinished requests (default 10 s). */
  readonly shutdownDeadlineMs?: number;
  /** Connection timeouts and caps (defaults: `DEFAULT_LIMITS`). */
  readonly limits?: { readonly [K in keyof ConnectionLimits]?: number | undefined };
  /** Counts every RPC into `metrics` and serves them at `GET /metrics` (see `metrics.ts` for `access`). */
  readonly metrics?: { readonly metrics: Metrics; readonly access: MetricsAccess };
}

/** A running server. */
export interface RunningServer {
  readonly port: number;
  /** `http://localhost:<port>` (or https). */
  readonly url: string;
  /** Stops accepting, ends live streams, waits for unfinished requests (up to the deadline). */
  shutdown(): Promise<void>;
}

function servicesOf(router: ConnectRouter): DescService[] {
  return [...new Set(router.handlers.map((handler) => handler.service))];
}

/**
 * Starts the server.
 *
 * @example
 * ```ts ignore
 * const server = await startServer({ port: 8080, logger, api: greeterApi(ports), ui: await buildUi() });
 * await server.shutdown();
 * ```
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const shutdown = new AbortController();
  let closing = false;
  const handler = createHttpHandler({
    routes(router) {
      options.api(router, { shutdown: shutdown.signal });
      registerReflection(router, servicesOf(router));
    },
    logger: options.logger,
    ui: options.ui,
    maxMessageBytes: options.maxMessageBytes ?? MAX_MESSAGE_BYTES,
    healthy: () => !closing,
    metrics: options.metrics,
  });
  const listener = await listen({
    port: options.port,
    hostname: options.hostname,
    tls: options.tls,
    handler,
    limits: options.limits,
  });
  let stopped: Promise<void> | undefined;
  return {
    port: listener.port,
    url: `${options.tls ? "https" : "http"}://localhost:${listener.port}`,
    shutdown() {
      stopped ??= (async () => {
        closing = true;
        const closed = listener.close(options.shutdownDeadlineMs);
        shutdown.abort(new DOMException("The server is shutting down", "AbortError"));
        await closed;
      })();
      return stopped;
    },
  };
}
