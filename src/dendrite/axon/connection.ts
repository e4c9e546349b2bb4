/**
 * One connection to an Axon Server (or soma) for one context: `GetPlatformServer` with redirect to the primary
 * node, the platform stream (./platform_stream.ts), and reconnection with back-off whenever the channel or a stream
 * breaks. Channels (commands, queries, events) register `onConnect` listeners to reopen their streams and
 * resubscribe after every reconnect.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { GatheringCredentials } from "../core/gathered_writes.ts";
import { Buffer } from "node:buffer";
import {
  ClientIdentificationSchema,
  PlatformInboundInstructionSchema,
  PlatformService,
} from "../../gen/axon/control_pb.ts";
import { backoff, delay } from "../core/async.ts";
import { DEFAULT_HEARTBEAT } from "./heartbeat.ts";
import { type ManagedProcessor, ManagedProcessors } from "./managed_processors.ts";
import { PlatformStream } from "./platform_stream.ts";
import { GrpcError, Rpc } from "./rpc.ts";

export type { ManagedProcessor } from "./managed_processors.ts";

/**
 * The version string sent in `ClientIdentification` (≥ 4.2.1 so servers send heartbeats).
 *
 * @example
 * ```ts
 * import { CONNECTOR_VERSION } from "./connection.ts";
 * console.log(CONNECTOR_VERSION); // 4.6
 * ```
 */
export const CONNECTOR_VERSION = "4.6";

/**
 * Options of {@link AxonConnection.connect}.
 *
 * @example
 * ```ts
 * import { AxonConnection, type AxonConnectionOptions } from "./connection.ts";
 * const options: AxonConnectionOptions = {
 *   address: "axonserver:8124",
 *   componentName: "greeter",
 *   token: Deno.env.get("AXON_TOKEN"),
 *   heartbeat: { intervalMs: 5_000, timeoutMs: 3_000 },
 * };
 * const connection = await AxonConnection.connect(options);
 * ```
 */
export interface AxonConnectionOptions {
  /** `host:port` of an Axon Server node (or soma). */
  readonly address: string;
  /** Shared by every instance of the application. */
  readonly componentName: string;
  /** Unique per instance (default: component name + random hex). */
  readonly clientId?: string;
  /** Axon context (default `default`). */
  readonly context?: string;
  /** Access token, sent as `AxonIQ-Access-Token`. */
  readonly token?: string;
  /** TLS: verify the server with these CA certificates (PEM); `{}` uses the system roots. */
  readonly tls?: { readonly ca?: Uint8Array };
  /** Heartbeats on the platform stream (default 10 s interval, 7.5 s timeout); `false` disables them. */
  readonly heartbeat?: { readonly intervalMs: number; readonly timeoutMs: number } | false;
  /** Deadline of `GetPlatformServer` (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** How often processor status is reported (default 2 s). */
  readonly processorInfoIntervalMs?: number;
  /** Largest message accepted (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /**
   * Carries the query handler stream on a `MessagePort` instead of this connection's gRPC channel, for a handler
   * on another thread of the server's process: it returns a new port whose other end the server serves (soma's
   * `serveQueryHandler`), the same protocol messages as over gRPC (`port_stream.ts`). Called at every
   * (re)connect, like the gRPC stream it replaces; `signal` aborts when that connection is lost.
   */
  readonly queryHandlerPort?: (signal: AbortSignal) => MessagePort;
  /** Told about every connect and disconnect (default: console). */
  readonly onStateChange?: (state: "connected" | "disconnected", detail?: unknown) => void;
}

type Listener = (rpc: Rpc, signal: AbortSignal) => void | Promise<void>;

/** What one connected session holds: the channel (after any redirect), its calls and its platform stream. */
interface Session {
  readonly client: grpc.Client;
  readonly rpc: Rpc;
  readonly platform: PlatformStream;
}

/**
 * A managed connection.
 *
 * @example
 * ```ts
 * import { AxonConnection } from "./connection.ts";
 * const connection = await AxonConnection.connect({ address: "localhost:8124", componentName: "greeter" });
 * console.log(connection.clientId, connection.connected);
 * await connection.close();
 * ```
 */
export class AxonConnection {
  /** The options it was opened with. */
  readonly options: AxonConnectionOptions;
  /** This instance's client id, as the server knows it. */
  readonly clientId: string;
  readonly #listeners = new Set<Listener>();
  readonly #processors = new ManagedProcessors();
  readonly #closing = new AbortController();
  #rpc: Rpc | undefined;
  #session: AbortController | undefined;
  #supervisor: Promise<void> | undefined;
  #connected: PromiseWithResolvers<void> = Promise.withResolvers();

  private constructor(options: AxonConnectionOptions) {
    this.options = options;
    this.clientId = options.clientId ?? `${options.componentName}-${crypto.randomUUID().slice(0, 8)}`;
  }

  /** Connects (retrying with back-off until `signal` aborts) and keeps the connection up until `close()`. */
  static async connect(options: AxonConnectionOptions, signal?: AbortSignal): Promise<AxonConnection> {
    const connection = new AxonConnection(options);
    connection.#supervisor = connection.#supervise();
    const onAbort = () => connection.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await Promise.race([
        connection.#connected.promise,
        new Promise<never>((_, reject) => {
          if (signal?.aborted) reject(signal.reason);
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
      ]);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    return connection;
  }

  /** The Axon context the connection works in. */
  get context(): string {
    return this.options.context ?? "default";
  }

  /** Whether the platform stream is up right now. */
  get connected(): boolean {
    return this.#rpc !== undefined;
  }

  /**
   * The current channel; fails fast with UNAVAILABLE while reconnecting. For the connector's own channels.
   *
   * @internal
   */
  rpc(): Rpc {
    if (!this.#rpc) {
      throw new GrpcError(grpc.status.UNAVAILABLE, `Not connected to Axon Server at ${this.options.address}`);
    }
    return this.#rpc;
  }

  /**
   * Calls `listener` now (when connected) and after every reconnect with the new channel and a signal that aborts
   * when that connection is lost. Returns a function that removes the listener. For the connector's own channels.
   *
   * @internal
   */
  onConnect(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#rpc && this.#session) void this.#notify(listener, this.#rpc, this.#session.signal);
    return () => this.#listeners.delete(listener);
  }

  /** Tells the connection a stream broke: the whole connection is re-established. */
  reportBroken(reason: unknown): void {
    if (this.#session && !this.#session.signal.aborted) this.#session.abort(reason);
  }

  /** Registers a processor for server instructions and status reports. */
  registerProcessor(processor: ManagedProcessor): () => void {
    return this.#processors.register(processor);
  }

  /** Closes the connection for good. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new DOMException("Connection closed", "AbortError"));
    this.#session?.abort(this.#closing.signal.reason);
    await this.#supervisor;
  }

  #headers(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set("axoniq-context", this.context);
    metadata.set("axoniq-clientid", this.clientId);
    if (this.options.token) metadata.set("axoniq-access-token", this.options.token);
    return metadata;
  }

  #client(address: string): grpc.Client {
    const credentials = this.options.tls
      ? grpc.credentials.createSsl(this.options.tls.ca ? Buffer.from(this.options.tls.ca) : null)
      : grpc.credentials.createInsecure();
    const max = this.options.maxMessageBytes ?? 4 * 1024 * 1024;
    return new grpc.Client(address, new GatheringCredentials(credentials), {
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.max_receive_message_length": max,
      "grpc.max_send_message_length": max,
    });
  }

  async #supervise(): Promise<void> {
    const closing = this.#closing.signal;
    for (let attempt = 0; !closing.aborted; attempt++) {
      if (await this.#runSession(closing)) attempt = 0;
      if (closing.aborted) return;
      await delay(backoff(attempt, 250, 10_000), closing).catch(() => undefined);
    }
  }

  /** One session: connect, run the platform stream until it breaks, clean up. True when it got connected. */
  async #runSession(closing: AbortSignal): Promise<boolean> {
    const session = new AbortController();
    this.#session = session;
    const onClose = () => session.abort(closing.reason);
    closing.addEventListener("abort", onClose, { once: true });
    let opened: Session | undefined;
    try {
      opened = await this.#open(session.signal);
      await opened.platform.run(session.signal);
    } catch (error) {
      if (!closing.aborted) this.#state("disconnected", error);
    } finally {
      closing.removeEventListener("abort", onClose);
      if (!session.signal.aborted) session.abort(new Error("Connection lost"));
      this.#rpc = undefined;
      await opened?.rpc.settled();
      opened?.client.close();
    }
    return opened !== undefined;
  }

  /** GetPlatformServer, redirect to the primary when needed, open the platform stream and register. */
  async #open(signal: AbortSignal): Promise<Session> {
    let client = this.#client(this.options.address);
    let rpc = new Rpc(client, () => this.#headers());
    const identification = create(ClientIdentificationSchema, {
      clientId: this.clientId,
      componentName: this.options.componentName,
      version: CONNECTOR_VERSION,
    });
    let info;
    try {
      info = await rpc.unary(PlatformService.method.getPlatformServer, identification, {
        signal,
        timeoutMs: this.options.connectTimeoutMs ?? 5_000,
      });
    } catch (error) {
      // A failed attempt leaves no channel behind (each reconnect would otherwise keep one open).
      client.close();
      throw error;
    }
    const primary = info.primary;
    if (
      !info.sameConnection && primary && `${primary.hostName}:${primary.grpcPort}` !== this.options.address
    ) {
      client.close();
      client = this.#client(`${primary.hostName}:${primary.grpcPort}`);
      rpc = new Rpc(client, () => this.#headers());
    }
    const stream = rpc.bidi(PlatformService.method.openStream, { signal });
    stream.send(
      create(PlatformInboundInstructionSchema, { request: { case: "register", value: identification } }),
    );
    const platform = new PlatformStream(stream, {
      clientId: this.clientId,
      heartbeat: this.options.heartbeat ?? DEFAULT_HEARTBEAT,
      processorInfoIntervalMs: this.options.processorInfoIntervalMs ?? 2_000,
      processors: this.#processors,
      broken: (reason) => this.reportBroken(reason),
    });
    this.#rpc = rpc;
    this.#state("connected", `${this.options.address} as ${this.clientId}`);
    this.#connected.resolve();
    for (const listener of this.#listeners) void this.#notify(listener, rpc, signal);
    return { client, rpc, platform };
  }

  async #notify(listener: Listener, rpc: Rpc, signal: AbortSignal): Promise<void> {
    try {
      await listener(rpc, signal);
    } catch (error) {
      if (!signal.aborted) this.reportBroken(error);
    }
  }

  #state(state: "connected" | "disconnected", detail?: unknown): void {
    if (this.options.onStateChange) this.options.onStateChange(state, detail);
    else if (state === "connected") console.info(`Connected to Axon Server ${detail}`);
    else console.warn(`Disconnected from Axon Server ${this.options.address}:`, String(detail));
  }
}
