/**
 * soma: an embedded single-node server that speaks the Axon Server gRPC API (PlatformService, CommandService,
 * QueryService, EventStore, EventScheduler) over dendrite's SQLite event store, and offers the same routing table
 * and store in-process as dendrite's `CommandBus`, `QueryBus` and `EventStore` ports.
 *
 * @example
 * ```ts ignore
 * import { startSoma } from "./mod.ts";
 * const soma = await startSoma({ dataDir: "./data", port: 8124, httpPort: 8024 });
 * await soma.commandBus.subscribe(GreetCommandSchema, handleGreet);   // in-process handler
 * await soma.commandBus.dispatch(create(GreetCommandSchema, { greeterId: "main" })); // no gRPC hop
 * await soma.close();
 * ```
 *
 * @module
 */
import { hostname } from "node:os";
import {
  type CommandBus,
  DEFAULT_SUBSCRIPTION_LIMITS,
  type EventStore,
  MessageRegistry,
  type QueryBus,
  type SubscriptionLimits,
} from "../dendrite/mod.ts";
import type { Synchronous } from "../dendrite/sqlite/mod.ts";
import type { DcbEventStore as DcbStore } from "../dendrite/dcb/mod.ts";
import { CommandRouter } from "./commands.ts";
import { startGuard } from "./guard.ts";
import { serveStatus, type StatusServer } from "./http.ts";
import { resolveLimits, type SomaLimits } from "./limits.ts";
import type { CallerWindows } from "./caller_windows.ts";
import { type GrpcListener, listenGrpc } from "./grpc_listener.ts";
import { SomaCommandBus, SomaQueryBus } from "./local.ts";
import { type InstructionOutcome, Platform, type ProcessorAction } from "./platform.ts";
import { QueryRouter } from "./queries.ts";
import { createSomaServer } from "./grpc_server.ts";
import { openSomaStores } from "./stores.ts";
import { startTlsFront, type TlsFront } from "./tls_front.ts";
import { assertSafeExposure, isLoopback } from "./token.ts";
import {
  type ActionOutcome,
  type ClientView,
  clientViews,
  type LocalProcessor,
  type ProcessorView,
  processorViews,
  runLocalAction,
  SegmentMemory,
  type SomaStatus,
  type StatusCell,
  type StatusSection,
  type StatusSectionProvider,
} from "./status.ts";
import { runDeadLetterAction, withDeadLetters } from "./dead_letters.ts";
import type { HistoryOptions } from "./history.ts";
import { somaObservability } from "./metrics.ts";

export type {
  ActionOutcome,
  ClientView,
  InstructionOutcome,
  LocalProcessor,
  ProcessorAction,
  ProcessorView,
  SomaLimits,
  SomaStatus,
  StatusCell,
  StatusSection,
  StatusSectionProvider,
};
export { DEFAULT_LIMITS, LIMIT_VARIABLES, limitsFromEnv } from "./limits.ts";
export {
  isLoopback,
  loadOrCreateSomaToken,
  readSomaToken,
  somaTokenPath,
  UnsafeExposureError,
} from "./token.ts";
export { Platform } from "./platform.ts";
export { statusHandler } from "./http.ts";

/** soma's version, reported on the status surface. */
export const SOMA_VERSION = "0.1.0";
/** Default gRPC message size limit (4 MiB, as Axon Server). */
export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

/** Options of {@link startSoma}. */
export interface SomaOptions {
  /** Directory for `events.sqlite` and `scheduler.sqlite` (created when missing). Required unless `eventStore`. */
  readonly dataDir?: string;
  /** Use this event store instead of opening one under `dataDir` (soma does not close it). */
  readonly eventStore?: EventStore;
  /** SQLite file of scheduled events; default `<dataDir>/scheduler.sqlite`, else `:memory:` (not durable). */
  readonly schedulerPath?: string;
  /** Interface to listen on (default `127.0.0.1`; `0.0.0.0` to let other machines join). */
  readonly host?: string;
  /** gRPC port (default 8124; 0 picks a free port). */
  readonly port?: number;
  /** Status surface port (default 8024; 0 picks a free port; `false` disables it). */
  readonly httpPort?: number | false;
  /** Host name advertised in `GetPlatformServer` (default: `host`, or the machine name for `0.0.0.0`). */
  readonly advertisedHost?: string;
  /** SQLite durability of the stores soma opens (default FULL). */
  readonly synchronous?: Synchronous;
  /** How long the event store remembers a command's idempotency key (default 24 h). */
  readonly idempotencyWindowMs?: number;
  /**
   * When set, every gRPC call must carry it in `AxonIQ-Access-Token`, and the status port's processor state and
   * actions need it too (see `loadOrCreateSomaToken`). Without it, soma listens on loopback only.
   */
  readonly accessToken?: string;
  /**
   * TLS on the gRPC listener: PEM certificate chain and private key (the status page stays plain HTTP), and
   * optionally `clientCa`: clients must then present a certificate it issued (TLS client authentication).
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly clientCa?: string };
  /** Connection limits and timeouts of both listeners (defaults in `DEFAULT_LIMITS`). */
  readonly limits?: SomaLimits;
  /**
   * Live subscription queries of gRPC clients, per client id and in all (default `DEFAULT_SUBSCRIPTION_LIMITS`);
   * beyond them a subscription completes exceptionally with AXONIQ-1900.
   */
  readonly subscriptionLimits?: SubscriptionLimits;
  /** Server heartbeats to clients reporting version ≥ 4.2.1 (default 1 000 ms; 0 disables heartbeats). */
  readonly heartbeatIntervalMs?: number;
  /** A heartbeat-capable client silent this long is dropped (default 5 000 ms). */
  readonly heartbeatTimeoutMs?: number;
  /** Wait for a processor instruction's result this long (default 10 000 ms). */
  readonly instructionTimeoutMs?: number;
  /** Timeout of commands dispatched over gRPC (default 300 000 ms). */
  readonly commandTimeoutMs?: number;
  /** Timeout of gRPC queries without a TIMEOUT instruction (default 30 000 ms). */
  readonly queryTimeoutMs?: number;
  /** Largest gRPC message accepted or sent (default 4 MiB). */
  readonly maxMessageSize?: number;
  /** Payload schemas, for messages crossing between in-process code and gRPC clients. */
  readonly registry?: MessageRegistry;
  /** Name of this node (default `soma@<hostname>`). */
  readonly nodeName?: string;
  /** Client id and component in-process messages carry (default `soma-local` / `soma`). */
  readonly local?: { readonly clientId?: string; readonly component?: string };
  /** Samples of the status page's charts (default every 5 s, 120 kept); taken while the status port is open. */
  readonly history?: HistoryOptions;
  /** Closes soma when aborted. */
  readonly signal?: AbortSignal;
  /** Where failures without a caller go (scheduled events that cannot be published). Default console.error. */
  readonly onError?: (error: unknown, where: string) => void;
}

/** A running soma. */
export interface Soma {
  /** The bound gRPC port. */
  readonly port: number;
  /** The bound status port (undefined when disabled). */
  readonly httpPort: number | undefined;
  /** In-process CommandBus on soma's routing table. */
  readonly commandBus: CommandBus;
  /** In-process QueryBus (incl. subscription queries) on soma's routing table. */
  readonly queryBus: QueryBus;
  /** The event store (in-process; the gRPC EventStore serves the same one). */
  readonly eventStore: EventStore;
  /** The DCB event store (in-process; the gRPC DcbEventStore serves the same one; `dcb.sqlite`). */
  readonly dcbEventStore: DcbStore;
  /** The registry used at the gRPC boundary. */
  readonly registry: MessageRegistry;
  status(): Promise<SomaStatus>;
  processors(): Promise<ProcessorView[]>;
  /** Lists an in-process processor on the status surface and lets its actions reach it; returns an unregister. */
  registerProcessor(processor: LocalProcessor): () => void;
  /** Adds a table to the status page and `/v1/status` (token-protected part); returns a remover. */
  addStatusSection(provider: StatusSectionProvider): () => void;
  /** Sends a processor action to its instances (gRPC clients and in-process) and waits for the outcomes. */
  processorAction(
    action: ProcessorAction,
    processor: string,
    segment?: number,
    clientId?: string,
  ): Promise<ActionOutcome>;
  /** Stops accepting, ends every stream, closes the stores soma opened. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts soma.
 *
 * @example
 * ```ts ignore
 * const soma = await startSoma({ dataDir: await Deno.makeTempDir(), port: 0, httpPort: 0 });
 * console.log(soma.port, soma.httpPort);
 * await soma.close();
 * ```
 */
export async function startSoma(options: SomaOptions): Promise<Soma> {
  if (!options.eventStore && !options.dataDir) throw new Error("startSoma needs a dataDir or an eventStore");
  options.signal?.throwIfAborted();
  const host = options.host ?? "127.0.0.1";
  assertSafeExposure(host, options.accessToken, options.tls?.clientCa !== undefined);
  const limits = resolveLimits(options.limits);
  const startedAt = Date.now();
  const nodeName = options.nodeName ?? `soma@${hostname()}`;
  const registry = options.registry ?? new MessageRegistry();
  const identity = {
    clientId: options.local?.clientId ?? "soma-local",
    component: options.local?.component ?? "soma",
  };
  const onError = options.onError ??
    ((error: unknown, where: string) => console.error(`soma: ${where}:`, error));
  const stores = await openSomaStores(options, onError);
  const store = stores.events;

  const shutdown = new AbortController();
  const commandRouter = new CommandRouter();
  const queryRouter = new QueryRouter();
  const streams = new Set<{ clientId: () => string; close: () => void }>();
  const track = (clientId: () => string, close: () => void) => {
    const entry = { clientId, close };
    streams.add(entry);
    return () => streams.delete(entry);
  };
  let grpcPort = 0;
  let http: StatusServer | undefined;
  const platform = new Platform(() => ({
    hostName: options.advertisedHost ?? (host === "0.0.0.0" || host === "::" ? hostname() : host),
    grpcPort,
    httpPort: http?.port ?? 0,
    nodeName,
  }), {
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    instructionTimeoutMs: options.instructionTimeoutMs,
    onClientDropped: (clientId) => {
      for (const stream of [...streams]) if (stream.clientId() === clientId) stream.close();
    },
  });

  /** The gRPC listener's view of its callers' flow control (set once it listens). */
  const callers: { current?: CallerWindows } = {};
  const server = createSomaServer({
    accessToken: options.accessToken,
    limits,
    maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    platform,
    commandRouter,
    queryRouter,
    registry,
    stores,
    nodeName,
    commandTimeoutMs: options.commandTimeoutMs,
    queryTimeoutMs: options.queryTimeoutMs,
    subscriptionLimits: options.subscriptionLimits ?? DEFAULT_SUBSCRIPTION_LIMITS,
    track,
    callers: () => callers.current,
    signal: shutdown.signal,
    onError,
  });

  const localProcessors = new Map<string, LocalProcessor>();
  const sectionProviders = new Set<StatusSectionProvider>();
  const segmentMemory = new SegmentMemory();
  const processors = async () =>
    await withDeadLetters(
      processorViews(
        platform.processors(),
        [...localProcessors.values()],
        await store.lastToken(),
        identity,
        segmentMemory,
      ),
      localProcessors,
    );
  const processorAction = async (
    action: ProcessorAction,
    processor: string,
    segment = 0,
    clientId?: string,
  ): Promise<ActionOutcome> => {
    const remote = clientId === identity.clientId
      ? []
      : await platform.instruct(action, processor, segment, clientId);
    const localProcessor = localProcessors.get(processor);
    const local = localProcessor && (clientId === undefined || clientId === identity.clientId)
      ? await runLocalAction(localProcessor, action, segment)
      : undefined;
    const all = [...remote.map((r) => r.success), ...(local ? [local.success] : [])];
    return { processor, action, segment, remote, local, success: all.length > 0 && all.every(Boolean) };
  };
  const clients = () =>
    clientViews(platform.clients(), {
      ...identity,
      version: SOMA_VERSION,
      startedAt,
      active: localProcessors.size > 0 || commandRouter.handlers().some((h) => h.local) ||
        queryRouter.handlers().some((h) => h.local),
    });
  const status = async (): Promise<SomaStatus> => ({
    node: { name: nodeName, grpcPort, httpPort: http?.port ?? 0 },
    versions: { soma: SOMA_VERSION, axonApi: "2025.2", deno: Deno.version.deno },
    clients: clients(),
    commandHandlers: commandRouter.handlers(),
    queryHandlers: queryRouter.handlers(),
    subscriptionQueries: queryRouter.subscriptionCount,
    events: { firstToken: await store.firstToken(), lastToken: await store.lastToken() },
    sections: await Promise.all([...sectionProviders].map((provide) => provide())),
  });

  const observed = somaObservability(
    { commands: commandRouter.routed, queries: queryRouter.routed, status, processors, store },
    options.history,
    (error) => onError(error, "sampling the status history"),
  );

  /** The status server listens on loopback behind the guard that enforces the limits (see guard.ts). */
  const serveGuardedStatus = async (port: number): Promise<StatusServer> => {
    const access = { token: options.accessToken, openStatus: isLoopback(host) };
    const deadLetterAction = (processor: string, sequenceId: string, action: "retry" | "evict") =>
      runDeadLetterAction(localProcessors, processor, sequenceId, action);
    const inner = await serveStatus(
      { status, processors, act: processorAction, deadLetterAction, access, ...observed.source },
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
  };

  let closing: Promise<void> | undefined;
  let front: TlsFront | undefined;
  let grpc: GrpcListener | undefined;
  const close = () => {
    closing ??= (async () => {
      shutdown.abort(new DOMException("soma is shutting down", "AbortError"));
      await front?.close();
      grpc?.close();
      platform.close();
      for (const stream of [...streams]) stream.close();
      commandRouter.close();
      queryRouter.close();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await observed.history.stop();
      await http?.close();
      await stores.close();
    })();
    return closing;
  };

  try {
    grpc = await listenGrpc(server, {
      // With TLS, the gRPC server listens on loopback behind soma's own TLS front (see tls_front.ts).
      host: options.tls ? "127.0.0.1" : host,
      port: options.tls ? 0 : options.port ?? 8124,
      maxConnections: limits.maxConnections,
    });
    callers.current = grpc.callers;
    grpcPort = grpc.port;
    if (options.tls) {
      front = await startTlsFront({
        host,
        port: options.port ?? 8124,
        ...options.tls,
        targetPort: grpcPort,
        maxConnections: limits.maxConnections,
        handshakeTimeoutMs: limits.headerTimeoutMs,
      });
      grpcPort = front.port;
    }
    if (options.httpPort !== false) {
      http = await serveGuardedStatus(options.httpPort ?? 8024);
      observed.history.start();
    }
  } catch (error) {
    await close();
    throw error;
  }
  options.signal?.addEventListener("abort", () => void close(), { once: true });

  return {
    port: grpcPort,
    httpPort: http?.port,
    commandBus: new SomaCommandBus(commandRouter, registry, identity),
    queryBus: new SomaQueryBus(queryRouter, registry, identity),
    eventStore: store,
    dcbEventStore: stores.dcbEvents,
    registry,
    status,
    processors,
    registerProcessor(processor) {
      localProcessors.set(processor.name, processor);
      return () => {
        if (localProcessors.get(processor.name) === processor) localProcessors.delete(processor.name);
      };
    },
    processorAction,
    addStatusSection(provider) {
      const entry: StatusSectionProvider = () => provider();
      sectionProviders.add(entry);
      return () => {
        sectionProviders.delete(entry);
      };
    },
    close,
  };
}
