/**
 * One connection to an Axon Server (or soma) for one context: `GetPlatformServer` with redirect to the primary
 * node, the platform stream (register, heartbeats both ways, acks for every instruction, processor instructions
 * delegated to the processors, periodic `EventProcessorInfo`, `request_reconnect`), and reconnection with back-off
 * whenever the channel or a stream breaks. Channels (commands, queries, events) register `onConnect` listeners to
 * reopen their streams and resubscribe after every reconnect.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { ErrorMessageSchema, InstructionResultSchema } from "../../gen/axon/common_pb.ts";
import {
  ClientIdentificationSchema,
  type EventProcessorInfo,
  EventProcessorInfo_SegmentStatusSchema,
  EventProcessorInfoSchema,
  HeartbeatSchema,
  type PlatformInboundInstruction,
  PlatformInboundInstructionSchema,
  type PlatformOutboundInstruction,
  PlatformService,
} from "../../gen/axon/control_pb.ts";
import { backoff, delay } from "../core/async.ts";
import { AxonErrorCode } from "../core/errors.ts";
import { newMessageId } from "../core/message.ts";
import type { ProcessorStatus } from "../processing/processor.ts";
import { type BidiStream, GrpcError, Rpc } from "./rpc.ts";
import { instructionAck } from "./protocol/instructions.ts";

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
  /** Told about every connect and disconnect (default: console). */
  readonly onStateChange?: (state: "connected" | "disconnected", detail?: unknown) => void;
}

/** A processor the server may control (pause, start, split, merge, release) and that reports its status. */
export interface ManagedProcessor {
  /** The processor's name, as the server shows it. */
  readonly name: string;
  /** The status reported to the server. */
  status(): ProcessorStatus;
  /** Pauses processing (a server instruction). */
  pause?(): Promise<unknown>;
  /** Starts processing again (a server instruction). */
  start?(): Promise<unknown>;
  /** Splits `segment` in two (a server instruction). */
  split?(segment: number): Promise<unknown>;
  /** Merges `segment` with its sibling (a server instruction). */
  merge?(segment: number): Promise<unknown>;
  /** Releases the claim on `segment` (a server instruction). */
  release?(segment: number): Promise<unknown>;
}

type Listener = (rpc: Rpc, signal: AbortSignal) => void | Promise<void>;

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
  readonly #processors = new Map<string, ManagedProcessor>();
  readonly #closing = new AbortController();
  #rpc: Rpc | undefined;
  #session: AbortController | undefined;
  #platform: BidiStream<PlatformInboundInstruction, PlatformOutboundInstruction> | undefined;
  #pendingAcks = new Map<string, (ok: boolean) => void>();
  /** Per processor: the tail of its instructions still running (they run off the read loop, in order). */
  readonly #instructions = new Map<string, Promise<void>>();
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
    this.#processors.set(processor.name, processor);
    return () => this.#processors.delete(processor.name);
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
    return new grpc.Client(address, credentials, {
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
      const session = new AbortController();
      this.#session = session;
      const onClose = () => session.abort(closing.reason);
      closing.addEventListener("abort", onClose, { once: true });
      let client: grpc.Client | undefined;
      let rpc: Rpc | undefined;
      try {
        client = await this.#open(session.signal);
        rpc = this.#rpc;
        attempt = 0;
        await this.#runPlatform(session.signal);
      } catch (error) {
        if (!closing.aborted) this.#state("disconnected", error);
      } finally {
        closing.removeEventListener("abort", onClose);
        if (!session.signal.aborted) session.abort(new Error("Connection lost"));
        this.#rpc = undefined;
        this.#platform = undefined;
        for (const resolve of this.#pendingAcks.values()) resolve(false);
        this.#pendingAcks.clear();
        await rpc?.settled();
        client?.close();
      }
      if (closing.aborted) return;
      await delay(backoff(attempt, 250, 10_000), closing).catch(() => undefined);
    }
  }

  /** GetPlatformServer, redirect to the primary when needed, open the platform stream and register. */
  async #open(signal: AbortSignal): Promise<grpc.Client> {
    let client = this.#client(this.options.address);
    let rpc = new Rpc(client, () => this.#headers());
    const identification = create(ClientIdentificationSchema, {
      clientId: this.clientId,
      componentName: this.options.componentName,
      version: CONNECTOR_VERSION,
    });
    const info = await rpc.unary(PlatformService.method.getPlatformServer, identification, {
      signal,
      timeoutMs: this.options.connectTimeoutMs ?? 5_000,
    });
    const primary = info.primary;
    if (
      !info.sameConnection && primary && `${primary.hostName}:${primary.grpcPort}` !== this.options.address
    ) {
      client.close();
      client = this.#client(`${primary.hostName}:${primary.grpcPort}`);
      rpc = new Rpc(client, () => this.#headers());
    }
    const platform = rpc.bidi(PlatformService.method.openStream, { signal });
    platform.send(
      create(PlatformInboundInstructionSchema, { request: { case: "register", value: identification } }),
    );
    this.#platform = platform;
    this.#rpc = rpc;
    this.#state("connected", `${this.options.address} as ${this.clientId}`);
    this.#connected.resolve();
    for (const listener of this.#listeners) void this.#notify(listener, rpc, signal);
    return client;
  }

  async #notify(listener: Listener, rpc: Rpc, signal: AbortSignal): Promise<void> {
    try {
      await listener(rpc, signal);
    } catch (error) {
      if (!signal.aborted) this.reportBroken(error);
    }
  }

  async #runPlatform(signal: AbortSignal): Promise<void> {
    const platform = this.#platform!;
    const heartbeat = this.options.heartbeat ?? { intervalMs: 10_000, timeoutMs: 7_500 };
    let deadline = Date.now() + (heartbeat ? heartbeat.intervalMs + heartbeat.timeoutMs : Infinity);
    const timers: ReturnType<typeof setInterval>[] = [];
    if (heartbeat) {
      timers.push(setInterval(() => {
        if (Date.now() > deadline) {
          this.reportBroken(new Error("Did not receive a heartbeat acknowledgement in time"));
          return;
        }
        const instructionId = newMessageId();
        this.#pendingAcks.set(instructionId, (ok) => {
          if (ok) deadline = Math.max(deadline, Date.now() + heartbeat.intervalMs + heartbeat.timeoutMs);
        });
        platform.send(create(PlatformInboundInstructionSchema, {
          instructionId,
          request: { case: "heartbeat", value: create(HeartbeatSchema) },
        }));
      }, Math.min(heartbeat.intervalMs, 1_000 * 60)));
    }
    timers.push(setInterval(() => this.#reportProcessors(), this.options.processorInfoIntervalMs ?? 2_000));
    try {
      for await (const instruction of platform.responses) {
        if (signal.aborted) break;
        if (heartbeat && instruction.request.case === "heartbeat") {
          deadline = Math.max(deadline, Date.now() + heartbeat.intervalMs + heartbeat.timeoutMs);
        }
        this.#handleInstruction(instruction);
      }
    } finally {
      for (const timer of timers) clearInterval(timer);
      platform.cancel();
    }
    if (!signal.aborted) throw new Error("The platform stream ended");
  }

  #send(message: PlatformInboundInstruction): void {
    this.#platform?.send(message);
  }

  #ack(instructionId: string, success: boolean): void {
    if (!instructionId) return;
    this.#send(create(PlatformInboundInstructionSchema, {
      request: { case: "ack", value: instructionAck(instructionId, success, this.clientId) },
    }));
  }

  #result(instructionId: string, error?: unknown): void {
    if (!instructionId) return;
    this.#send(create(PlatformInboundInstructionSchema, {
      request: {
        case: "result",
        value: create(InstructionResultSchema, {
          instructionId,
          success: error === undefined,
          error: error === undefined ? undefined : create(ErrorMessageSchema, {
            errorCode: AxonErrorCode.INSTRUCTION_EXECUTION_ERROR,
            message: error instanceof Error ? error.message : String(error),
            location: this.clientId,
          }),
        }),
      },
    }));
  }

  /**
   * Handles one instruction without waiting for processor work: the read loop must keep taking heartbeats and
   * acks while a processor splits or merges (a slow merge must not look like a dead connection).
   */
  #handleInstruction(instruction: PlatformOutboundInstruction): void {
    const id = instruction.instructionId;
    const request = instruction.request;
    switch (request.case) {
      case "ack":
        this.#pendingAcks.get(request.value.instructionId)?.(
          request.value.success || request.value.error?.errorCode === AxonErrorCode.UNSUPPORTED_INSTRUCTION,
        );
        this.#pendingAcks.delete(request.value.instructionId);
        return;
      case "heartbeat":
        this.#ack(id, true);
        this.#send(create(PlatformInboundInstructionSchema, {
          request: { case: "heartbeat", value: create(HeartbeatSchema) },
        }));
        return;
      case "requestReconnect":
        this.#ack(id, true);
        this.reportBroken(new Error("The server asked for a reconnect"));
        return;
      case "nodeNotification":
        this.#ack(id, true);
        return;
      case "requestEventProcessorInfo": {
        this.#ack(id, true);
        const processor = this.#processors.get(request.value.processorName);
        if (processor) this.#send(this.#info(processor));
        this.#result(
          id,
          processor ? undefined : new Error(`Unknown processor "${request.value.processorName}"`),
        );
        return;
      }
      case "pauseEventProcessor":
      case "startEventProcessor":
      case "releaseSegment":
      case "splitEventProcessorSegment":
      case "mergeEventProcessorSegment": {
        this.#ack(id, true);
        const name = request.value.processorName;
        const segment = "segmentIdentifier" in request.value ? request.value.segmentIdentifier : 0;
        this.#inOrder(name, () => this.#control(id, name, request.case, segment));
        return;
      }
      default:
        this.#ack(id, false);
    }
  }

  /** Runs `work` after the processor's earlier instructions (each processor's instructions stay in order). */
  #inOrder(processor: string, work: () => Promise<void>): void {
    const next = (this.#instructions.get(processor) ?? Promise.resolve()).then(work);
    this.#instructions.set(processor, next);
    void next.finally(() => {
      if (this.#instructions.get(processor) === next) this.#instructions.delete(processor);
    });
  }

  /** Applies one processor instruction and reports its result to the server. */
  async #control(id: string, name: string, action: string, segment: number): Promise<void> {
    try {
      const processor = this.#processors.get(name);
      if (!processor) throw new Error(`Unknown processor "${name}"`);
      const outcome = await this.#apply(processor, action, segment);
      if (outcome === false) throw new Error(`"${action}" of "${name}" segment ${segment} was refused`);
      this.#result(id);
    } catch (error) {
      this.#result(id, error);
    }
  }

  #apply(processor: ManagedProcessor, action: string, segment: number): Promise<unknown> {
    const missing = () =>
      Promise.reject(new Error(`Processor "${processor.name}" does not support ${action}`));
    switch (action) {
      case "pauseEventProcessor":
        return processor.pause?.() ?? missing();
      case "startEventProcessor":
        return processor.start?.() ?? missing();
      case "releaseSegment":
        return processor.release?.(segment) ?? missing();
      case "splitEventProcessorSegment":
        return processor.split?.(segment) ?? missing();
      default:
        return processor.merge?.(segment) ?? missing();
    }
  }

  #info(processor: ManagedProcessor): PlatformInboundInstruction {
    const status = processor.status();
    const info: EventProcessorInfo = create(EventProcessorInfoSchema, {
      processorName: status.name,
      mode: "Tracking",
      running: status.running,
      activeThreads: status.segments.length,
      availableThreads: Math.max(0, 16 - status.segments.length),
      tokenStoreIdentifier: status.name,
      error: status.segments.some((s) => s.error !== undefined),
      segmentStatus: status.segments.map((s) =>
        create(EventProcessorInfo_SegmentStatusSchema, {
          segmentId: s.segment,
          onePartOf: s.onePartOf,
          tokenPosition: BigInt(Math.max(0, s.position)),
          replaying: s.replaying,
          caughtUp: s.caughtUp,
          errorState: s.error ?? "",
        })
      ),
    });
    return create(PlatformInboundInstructionSchema, { request: { case: "eventProcessorInfo", value: info } });
  }

  #reportProcessors(): void {
    for (const processor of this.#processors.values()) this.#send(this.#info(processor));
  }

  #state(state: "connected" | "disconnected", detail?: unknown): void {
    if (this.options.onStateChange) this.options.onStateChange(state, detail);
    else if (state === "connected") console.info(`Connected to Axon Server ${detail}`);
    else console.warn(`Disconnected from Axon Server ${this.options.address}:`, String(detail));
  }
}
