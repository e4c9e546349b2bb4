/**
 * The program's HTTP server, on two ports:
 * - the front door (`port`): `Deno.serve` for HTTP/1.1 and HTTP/2 (cleartext or TLS), serving `/healthz`, the UI
 *   and the RPC services in grpc-web and Connect (unary calls on a fast path, see `front_door.ts`);
 * - the gRPC port (`grpcPort`): node:http2 (and node:http) with connect-node, serving gRPC — which needs HTTP/2
 *   trailers, which `Deno.serve` cannot send — plus everything the front door serves, with the connection limits.
 * Both have gRPC server reflection for every registered service.
 *
 * @module
 */
import type { ConnectRouter } from "@connectrpc/connect";
import { openFrontDoor } from "./front_door.ts";
import { createHttpHandler } from "./http.ts";
import type { ConnectionLimits } from "./limits.ts";
import { listen } from "./listener.ts";
import type { Logger } from "./log.ts";
import { recordRoutes } from "./routes.ts";
import { MAX_MESSAGE_BYTES } from "./rpc_router.ts";
import type { UiAssets } from "./ui.ts";
import type { Metrics } from "../dendrite/observability/metrics.ts";
import { apiMetricsInterceptor, interceptEvery, type MetricsAccess } from "./metrics.ts";

export { MAX_MESSAGE_BYTES } from "./rpc_router.ts";
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
  /** The front door's port (browser protocols, UI, `/healthz`); 0 picks a free port. */
  readonly port: number;
  /** The gRPC port (gRPC, reflection; also everything else, on node:http); 0 picks a free port. */
  readonly grpcPort: number;
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
  /** Connection timeouts and caps of the gRPC port (defaults: `DEFAULT_LIMITS`). */
  readonly limits?: { readonly [K in keyof ConnectionLimits]?: number | undefined };
  /** Counts every RPC into `metrics` (both ports) and serves them at `GET /metrics` on the front door. */
  readonly metrics?: { readonly metrics: Metrics; readonly access: MetricsAccess };
}

/** A running server. */
export interface RunningServer {
  /** The front door's port. */
  readonly port: number;
  /** `http://localhost:<port>` (or https). */
  readonly url: string;
  /** The gRPC port. */
  readonly grpcPort: number;
  /** Stops accepting, ends live streams, waits for unfinished requests (up to the deadline). */
  shutdown(): Promise<void>;
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
  // Metered on the outside of every service's own interceptors, on both ports (the fast path runs them too).
  const metered = options.metrics ? apiMetricsInterceptor(options.metrics.metrics) : undefined;
  const routes = recordRoutes((router) =>
    options.api(metered ? interceptEvery(router, metered) : router, { shutdown: shutdown.signal })
  );
  const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const healthy = () => !closing;
  const handler = createHttpHandler({
    routes,
    logger: options.logger,
    ui: options.ui,
    maxMessageBytes,
    healthy,
  });
  const listener = await listen({
    port: options.grpcPort,
    hostname: options.hostname,
    tls: options.tls,
    handler,
    limits: options.limits,
  });
  let door;
  try {
    door = openFrontDoor({
      port: options.port,
      hostname: options.hostname,
      tls: options.tls,
      routes,
      logger: options.logger,
      ui: options.ui,
      maxMessageBytes,
      healthy,
      shutdown: shutdown.signal,
      metrics: options.metrics,
    });
  } catch (error) {
    await listener.close(0);
    throw error;
  }
  const frontDoor = door;
  let stopped: Promise<void> | undefined;
  return {
    port: frontDoor.port,
    url: `${options.tls ? "https" : "http"}://localhost:${frontDoor.port}`,
    grpcPort: listener.port,
    shutdown() {
      stopped ??= (async () => {
        closing = true;
        const deadline = options.shutdownDeadlineMs ?? 10_000;
        const closed = Promise.all([listener.close(deadline), frontDoor.close(deadline)]);
        shutdown.abort(new DOMException("The server is shutting down", "AbortError"));
        await closed;
      })();
      return stopped;
    },
  };
}
