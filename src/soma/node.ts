/**
 * A running soma: the routers, the platform service and the gRPC server over the stores, the in-process buses,
 * the status surface, the listeners (gRPC, soma's own TLS front, the guarded status port) and the orderly close.
 * `startSoma` (mod.ts) builds one with {@link SomaNode} and {@link SomaNode.listen}.
 *
 * @module
 */
import { hostname } from "node:os";
import type { Server } from "@grpc/grpc-js";
import type { QueryProviderInbound, QueryProviderOutbound } from "../gen/axon/query_pb.ts";
import { DEFAULT_SUBSCRIPTION_LIMITS, MessageRegistry } from "../dendrite/mod.ts";
import type { CallerWindows } from "./caller_windows.ts";
import { CommandRouter } from "./commands.ts";
import { SomaControl } from "./control.ts";
import { createSomaServer } from "./grpc_server.ts";
import { type GrpcListener, listenGrpc } from "./grpc_listener.ts";
import { startGuard } from "./guard.ts";
import { serveStatus, type StatusServer } from "./http.ts";
import { resolveLimits } from "./limits.ts";
import { SomaCommandBus, SomaQueryBus } from "./local.ts";
import type { LocalIdentity } from "./local_endpoints.ts";
import { somaObservability } from "./metrics.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, type Soma, type SomaOptions } from "./options.ts";
import { Platform } from "./platform.ts";
import type { TrackStream } from "./handler_stream.ts";
import { PortCall } from "./port_call.ts";
import { QueryRouter } from "./queries.ts";
import { serveQueryHandlerStream } from "./query_service.ts";
import type { SomaStores } from "./stores.ts";
import { startTlsFront, type TlsFront } from "./tls_front.ts";
import { assertSafeExposure, isLoopback } from "./token.ts";

/** What {@link somaSettings} derives from the options. */
export interface SomaSettings {
  readonly host: string;
  readonly limits: ReturnType<typeof resolveLimits>;
  readonly nodeName: string;
  readonly registry: MessageRegistry;
  readonly identity: LocalIdentity;
  readonly onError: (error: unknown, where: string) => void;
}

/** Checks the options (refuses an unsafe exposure) and fills in the defaults. */
export function somaSettings(options: SomaOptions): SomaSettings {
  if (!options.eventStore && !options.dataDir) throw new Error("startSoma needs a dataDir or an eventStore");
  options.signal?.throwIfAborted();
  const host = options.host ?? "127.0.0.1";
  assertSafeExposure(host, options.accessToken, options.tls?.clientCa !== undefined);
  return {
    host,
    limits: resolveLimits(options.limits),
    nodeName: options.nodeName ?? `soma@${hostname()}`,
    registry: options.registry ?? new MessageRegistry(),
    identity: {
      clientId: options.local?.clientId ?? "soma-local",
      component: options.local?.component ?? "soma",
    },
    onError: options.onError ?? ((error: unknown, where: string) => console.error(`soma: ${where}:`, error)),
  };
}

/** An open handler stream, closed when its client is dropped or soma closes. */
interface TrackedStream {
  readonly clientId: () => string;
  readonly close: () => void;
  /** When the stream last received a message (epoch ms). */
  readonly lastData?: () => number;
}

/** soma, built and (after {@link SomaNode.listen}) serving. Its public methods are bound. */
export class SomaNode implements Soma {
  readonly commandBus: SomaCommandBus;
  readonly queryBus: SomaQueryBus;
  readonly eventStore: Soma["eventStore"];
  readonly dcbEventStore: Soma["dcbEventStore"];
  readonly registry: MessageRegistry;
  readonly status: Soma["status"];
  readonly processors: Soma["processors"];
  readonly processorAction: Soma["processorAction"];
  readonly registerProcessor: Soma["registerProcessor"];
  readonly addStatusSection: Soma["addStatusSection"];
  readonly #options: SomaOptions;
  readonly #settings: SomaSettings;
  readonly #stores: SomaStores;
  readonly #shutdown = new AbortController();
  readonly #commandRouter = new CommandRouter();
  readonly #queryRouter = new QueryRouter();
  readonly #streams = new Set<TrackedStream>();
  readonly #platform: Platform;
  readonly #server: Server;
  readonly #control: SomaControl;
  readonly #observed: ReturnType<typeof somaObservability>;
  #callers: CallerWindows | undefined;
  #grpcPort = 0;
  #http: StatusServer | undefined;
  #front: TlsFront | undefined;
  #grpc: GrpcListener | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SomaOptions, settings: SomaSettings, stores: SomaStores) {
    this.#options = options;
    this.#settings = settings;
    this.#stores = stores;
    this.registry = settings.registry;
    this.eventStore = stores.events;
    this.dcbEventStore = stores.dcbEvents;
    this.commandBus = new SomaCommandBus(this.#commandRouter, settings.registry, settings.identity);
    this.queryBus = new SomaQueryBus(this.#queryRouter, settings.registry, settings.identity);
    this.#platform = this.#createPlatform();
    this.#server = this.#createServer();
    this.#control = new SomaControl({
      platform: this.#platform,
      commandRouter: this.#commandRouter,
      queryRouter: this.#queryRouter,
      store: stores.events,
      identity: settings.identity,
      nodeName: settings.nodeName,
      ports: () => ({ grpcPort: this.#grpcPort, httpPort: this.#http?.port ?? 0 }),
    });
    this.status = this.#control.status;
    this.processors = this.#control.processors;
    this.processorAction = this.#control.processorAction;
    this.registerProcessor = this.#control.registerProcessor;
    this.addStatusSection = this.#control.addStatusSection;
    this.#observed = somaObservability(
      {
        commands: this.#commandRouter.routed,
        queries: this.#queryRouter.routed,
        status: this.status,
        processors: this.processors,
        store: stores.events,
      },
      options.history,
      (error) => settings.onError(error, "sampling the status history"),
    );
  }

  /** See {@link Soma.serveQueryHandler}. */
  readonly serveQueryHandler = (port: MessagePort, onEnd?: () => void): () => void => {
    const call = new PortCall<QueryProviderOutbound, QueryProviderInbound>(port);
    if (onEnd) call.once("close", onEnd);
    const { registry, nodeName } = this.#settings;
    serveQueryHandlerStream(call, { router: this.#queryRouter, registry, nodeName, track: this.#track });
    return () => call.cancel();
  };

  readonly #track: TrackStream = (clientId, close, lastData) => {
    const entry = { clientId, close, lastData };
    this.#streams.add(entry);
    return () => this.#streams.delete(entry);
  };

  /** The bound gRPC port (the TLS front's with TLS). */
  get port(): number {
    return this.#grpcPort;
  }

  /** The bound status port (undefined when disabled). */
  get httpPort(): number | undefined {
    return this.#http?.port;
  }

  /** Opens the listeners: gRPC (behind soma's TLS front with TLS), then the status port. */
  async listen(): Promise<void> {
    const options = this.#options;
    const { host, limits } = this.#settings;
    this.#grpc = await listenGrpc(this.#server, {
      // With TLS, the gRPC server listens on loopback behind soma's own TLS front (see tls_front.ts).
      host: options.tls ? "127.0.0.1" : host,
      port: options.tls ? 0 : options.port ?? 8124,
      maxConnections: limits.maxConnections,
    });
    this.#callers = this.#grpc.callers;
    this.#grpcPort = this.#grpc.port;
    if (options.tls) {
      this.#front = await startTlsFront({
        host,
        port: options.port ?? 8124,
        ...options.tls,
        targetPort: this.#grpcPort,
        maxConnections: limits.maxConnections,
        handshakeTimeoutMs: limits.headerTimeoutMs,
      });
      this.#grpcPort = this.#front.port;
    }
    if (options.httpPort !== false) {
      this.#http = await this.#serveGuardedStatus(options.httpPort ?? 8024);
      this.#observed.history.start();
    }
  }

  /** Stops accepting, ends every stream, closes the stores soma opened. Idempotent. */
  readonly close = (): Promise<void> => this.#closing ??= this.#close();

  async #close(): Promise<void> {
    this.#shutdown.abort(new DOMException("soma is shutting down", "AbortError"));
    await this.#front?.close();
    this.#grpc?.close();
    this.#platform.close();
    // Subscriptions complete normally at shutdown, before their handlers' streams end (which would fail them).
    this.#queryRouter.close();
    for (const stream of [...this.#streams]) stream.close();
    this.#commandRouter.close();
    await this.#shutDownServer();
    await this.#observed.history.stop();
    await this.#http?.close();
    await this.#stores.close();
  }

  /** Lets the gRPC server end its calls, forcing it after 2 s. */
  #shutDownServer(): Promise<void> {
    return new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, 2_000);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  #createPlatform(): Platform {
    const options = this.#options;
    const { host, nodeName } = this.#settings;
    return new Platform(() => ({
      hostName: options.advertisedHost ?? (host === "0.0.0.0" || host === "::" ? hostname() : host),
      grpcPort: this.#grpcPort,
      httpPort: this.#http?.port ?? 0,
      nodeName,
    }), {
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      instructionTimeoutMs: options.instructionTimeoutMs,
      lastActivity: (clientId) => {
        let last = 0;
        for (const stream of this.#streams) {
          if (stream.clientId() === clientId) last = Math.max(last, stream.lastData?.() ?? 0);
        }
        return last;
      },
      onClientDropped: (clientId) => {
        for (const stream of [...this.#streams]) if (stream.clientId() === clientId) stream.close();
      },
    });
  }

  #createServer(): Server {
    const options = this.#options;
    const { limits, registry, nodeName, onError } = this.#settings;
    return createSomaServer({
      accessToken: options.accessToken,
      limits,
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      platform: this.#platform,
      commandRouter: this.#commandRouter,
      queryRouter: this.#queryRouter,
      registry,
      stores: this.#stores,
      nodeName,
      commandTimeoutMs: options.commandTimeoutMs,
      queryTimeoutMs: options.queryTimeoutMs,
      subscriptionLimits: options.subscriptionLimits ?? DEFAULT_SUBSCRIPTION_LIMITS,
      track: this.#track,
      callers: () => this.#callers,
      signal: this.#shutdown.signal,
      onError,
    });
  }

  /** The status server listens on loopback behind the guard that enforces the limits (see guard.ts). */
  async #serveGuardedStatus(port: number): Promise<StatusServer> {
    const { host, limits } = this.#settings;
    const control = this.#control;
    const inner = await serveStatus(
      {
        status: control.status,
        processors: control.processors,
        act: control.processorAction,
        deadLetterAction: control.deadLetterAction,
        access: { token: this.#options.accessToken, openStatus: isLoopback(host) },
        ...this.#observed.source,
      },
      "127.0.0.1",
      0,
    );
    try {
      const guard = await startGuard({ host, port, targetPort: inner.port, ...limits });
      return { port: guard.port, close: () => guard.close().then(() => inner.close()) };
    } catch (error) {
      await inner.close();
      throw error;
    }
  }
}
