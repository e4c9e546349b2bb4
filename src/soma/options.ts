/**
 * What `startSoma` (mod.ts) takes and gives: its options, the running {@link Soma}, and soma's version and default
 * message size limit.
 *
 * @module
 */
import type {
  CommandBus,
  EventStore,
  MessageRegistry,
  QueryBus,
  SubscriptionLimits,
} from "../dendrite/mod.ts";
import type { DurableHead, Synchronous } from "../dendrite/sqlite/mod.ts";
import type { DcbEventStore as DcbStore } from "../dendrite/dcb/mod.ts";
import type { HistoryOptions } from "./history.ts";
import type { SomaLimits } from "./limits.ts";
import type { ProcessorAction } from "./platform.ts";
import type {
  ActionOutcome,
  LocalProcessor,
  ProcessorView,
  SomaStatus,
  StatusSectionProvider,
} from "./status.ts";

/** soma's version, reported on the status surface. */
export const SOMA_VERSION = "0.1.0";
/** Default gRPC message size limit (4 MiB, as Axon Server). */
export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

/** Options of `startSoma`. */
export interface SomaOptions {
  /** Directory for `events.sqlite` and `scheduler.sqlite` (created when missing). Required unless `eventStore`. */
  readonly dataDir?: string;
  /** Use this event store instead of opening one under `dataDir` (soma does not close it). */
  readonly eventStore?: EventStore;
  /**
   * Publishes the durable head of `<dataDir>/events.sqlite` here, for a reader of that file in a worker thread
   * (the program's projection thread; see `DurableHead`).
   */
  readonly durableHead?: DurableHead;
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
  /**
   * Serves one query handler stream (QueryService `OpenStream`, the same protocol and routing as over gRPC) on
   * `port`, for a handler on another thread of this process (`dendrite/axon/port_stream.ts` is its end).
   * Returns a function that ends the stream as if its client had gone (call it when that thread ends);
   * `onEnd` is called once the stream is over, either way.
   */
  serveQueryHandler(port: MessagePort, onEnd?: () => void): () => void;
  /** Stops accepting, ends every stream, closes the stores soma opened. Idempotent. */
  close(): Promise<void>;
}
