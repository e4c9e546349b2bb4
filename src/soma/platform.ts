/**
 * soma's PlatformService: client registration, instruction acks, heartbeats in both directions, event-processor
 * reports, and processor instructions (pause, start, split, merge, release) with their acks and results tracked.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { type ServerDuplexStream, status as Status } from "@grpc/grpc-js";
import { AxonErrorCode } from "../dendrite/mod.ts";
import type { GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import type { ErrorMessage } from "../gen/axon/common_pb.ts";
import { instructionAck } from "../dendrite/axon/protocol/instructions.ts";
import {
  type ClientIdentification,
  type EventProcessorInfo,
  EventProcessorReferenceSchema,
  EventProcessorSegmentReferenceSchema,
  HeartbeatSchema,
  NodeInfoSchema,
  type PlatformInboundInstruction,
  PlatformInfoSchema,
  type PlatformOutboundInstruction,
  PlatformOutboundInstructionSchema,
  type PlatformService,
} from "../gen/axon/control_pb.ts";
import { axonError, SomaErrorCode } from "./grpc_errors.ts";

/** What soma advertises in `GetPlatformServer`. */
export interface NodeIdentity {
  readonly hostName: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly nodeName: string;
}

/** Options of {@link Platform}. */
export interface PlatformOptions {
  /** How often soma sends heartbeats to clients that support them (default 1 000 ms; 0 disables). */
  readonly heartbeatIntervalMs?: number;
  /** A heartbeat-capable client silent for longer than this is dropped (default 5 000 ms). */
  readonly heartbeatTimeoutMs?: number;
  /** How long to wait for a processor instruction's result (default 10 000 ms). */
  readonly instructionTimeoutMs?: number;
  /** Called when a client is dropped for inactivity (soma then closes its command and query streams). */
  readonly onClientDropped?: (clientId: string) => void;
  /** When a message last arrived on any of the client's handler streams (epoch ms; 0: none). */
  readonly lastActivity?: (clientId: string) => number;
}

/** A connected client, as the status surface shows it. */
export interface ClientInfo {
  readonly streamId: string;
  readonly clientId: string;
  readonly component: string;
  readonly version: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly connectedAt: number;
  readonly lastSeen: number;
  readonly heartbeats: boolean;
}

/** The latest `EventProcessorInfo` a client reported for one processor. */
export interface ProcessorReport {
  readonly clientId: string;
  readonly component: string;
  readonly streamId: string;
  readonly receivedAt: number;
  readonly info: EventProcessorInfo;
}

/** The processor instructions soma can send. */
export type ProcessorAction = "pause" | "start" | "split" | "merge" | "release";

/** Success or failure of an instruction, as acked or reported by a client. */
export interface InstructionStatus {
  readonly success: boolean;
  readonly errorCode?: string;
  readonly message?: string;
}

/** The outcome of one processor instruction sent to one client. */
export interface InstructionOutcome {
  readonly clientId: string;
  readonly instructionId: string;
  readonly ack?: InstructionStatus;
  readonly result?: InstructionStatus;
  readonly success: boolean;
}

interface Connection {
  readonly call: ServerDuplexStream<PlatformInboundInstruction, PlatformOutboundInstruction>;
  readonly streamId: string;
  client?: ClientInfo & { lastSeen: number };
  readonly processors: Map<string, ProcessorReport>;
}

interface PendingInstruction {
  readonly streamId: string;
  readonly clientId: string;
  ack?: InstructionStatus;
  readonly resolve: (outcome: InstructionOutcome) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * Whether a client's reported version is at least 4.2.1 (the clients Axon Server sends heartbeats to).
 * Versions are compared numerically part by part; anything unparsable counts as too old.
 */
export function supportsHeartbeats(version: string): boolean {
  const parts = version.split(/[.\-]/).slice(0, 3).map((p) => Number.parseInt(p, 10));
  if (parts.length === 0 || parts.some((p) => Number.isNaN(p))) return false;
  const [major, minor = 0, patch = 0] = parts;
  if (major !== 4) return major > 4;
  if (minor !== 2) return minor > 2;
  return patch >= 1;
}

/** The platform hub. */
export class Platform {
  readonly #options: PlatformOptions;
  readonly #node: () => NodeIdentity;
  readonly #connections = new Map<string, Connection>();
  readonly #instructions = new Map<string, PendingInstruction>();
  readonly #timer: ReturnType<typeof setInterval> | undefined;

  constructor(node: () => NodeIdentity, options: PlatformOptions = {}) {
    this.#node = node;
    this.#options = options;
    const interval = options.heartbeatIntervalMs ?? 1_000;
    if (interval > 0) this.#timer = setInterval(() => this.#beat(), interval);
  }

  /** Connected (registered) clients. */
  clients(): ClientInfo[] {
    const out: ClientInfo[] = [];
    for (const connection of this.#connections.values()) {
      if (connection.client) out.push({ ...connection.client });
    }
    return out;
  }

  /** The latest processor report of every client. */
  processors(): ProcessorReport[] {
    return [...this.#connections.values()].flatMap((c) => [...c.processors.values()]);
  }

  /** The gRPC implementation. */
  implementation(): GrpcServiceImplementation<typeof PlatformService.method> {
    return {
      getPlatformServer: (_call, callback) => {
        const node = this.#node();
        callback(
          null,
          create(PlatformInfoSchema, {
            primary: create(NodeInfoSchema, {
              hostName: node.hostName,
              grpcPort: node.grpcPort,
              httpPort: node.httpPort,
              version: 0,
              nodeName: node.nodeName,
            }),
            sameConnection: true,
          }),
        );
      },
      openStream: (call) => this.#open(call),
    };
  }

  /**
   * Sends a processor instruction to the clients running `processor` (pause/start: every instance; split, merge,
   * release: the instance that owns `segment`), or to `clientId` only, and waits for their acks and results.
   */
  async instruct(
    action: ProcessorAction,
    processor: string,
    segment = 0,
    clientId?: string,
  ): Promise<InstructionOutcome[]> {
    const targets: Connection[] = [];
    for (const connection of this.#connections.values()) {
      const report = connection.processors.get(processor);
      if (!connection.client || (clientId !== undefined && connection.client.clientId !== clientId)) continue;
      if (!report && clientId === undefined) continue;
      const segmentBound = action === "split" || action === "merge" || action === "release";
      if (segmentBound && clientId === undefined) {
        if (!report!.info.segmentStatus.some((s) => s.segmentId === segment)) continue;
      }
      targets.push(connection);
    }
    return await Promise.all(targets.map((c) => this.#send(c, action, processor, segment)));
  }

  /** Ends every platform stream (server shutdown). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const connection of [...this.#connections.values()]) {
      this.#connections.delete(connection.streamId);
      connection.call.end();
    }
    for (const [id, pending] of this.#instructions) {
      clearTimeout(pending.timer);
      this.#instructions.delete(id);
      pending.resolve(this.#outcome(id, pending, undefined, "soma is shutting down"));
    }
  }

  #open(call: ServerDuplexStream<PlatformInboundInstruction, PlatformOutboundInstruction>): void {
    const connection: Connection = { call, streamId: crypto.randomUUID(), processors: new Map() };
    this.#connections.set(connection.streamId, connection);
    const gone = () => this.#disconnect(connection);
    call.on("data", (message: PlatformInboundInstruction) => this.#receive(connection, message));
    call.on("end", () => {
      gone();
      call.end();
    });
    call.on("cancelled", gone);
    call.on("error", gone);
    call.on("close", gone);
  }

  #disconnect(connection: Connection): void {
    if (!this.#connections.delete(connection.streamId)) return;
    for (const [id, pending] of this.#instructions) {
      if (pending.streamId !== connection.streamId) continue;
      clearTimeout(pending.timer);
      this.#instructions.delete(id);
      pending.resolve(this.#outcome(id, pending, undefined, "The client disconnected"));
    }
  }

  #receive(connection: Connection, message: PlatformInboundInstruction): void {
    const now = Date.now();
    if (connection.client) connection.client.lastSeen = now;
    const request = message.request;
    let supported = true;
    switch (request.case) {
      case "register":
        connection.client = this.#register(connection, request.value, now);
        break;
      case "heartbeat":
        break;
      case "eventProcessorInfo":
        if (connection.client) {
          connection.processors.set(request.value.processorName, {
            clientId: connection.client.clientId,
            component: connection.client.component,
            streamId: connection.client.streamId,
            receivedAt: now,
            info: request.value,
          });
        }
        break;
      case "ack": {
        const pending = this.#instructions.get(request.value.instructionId);
        if (pending) {
          pending.ack = statusOf(request.value.success, request.value.error);
          if (!request.value.success) this.#settle(request.value.instructionId, undefined);
        }
        break;
      }
      case "result":
        this.#settle(request.value.instructionId, statusOf(request.value.success, request.value.error));
        break;
      default:
        supported = false;
    }
    if (message.instructionId !== "") {
      this.#write(connection, {
        case: "ack",
        value: instructionAck(message.instructionId, supported, this.#node().nodeName),
      });
    }
  }

  #register(connection: Connection, identification: ClientIdentification, now: number) {
    return {
      streamId: `${identification.clientId}.${connection.streamId}`,
      clientId: identification.clientId,
      component: identification.componentName,
      version: identification.version,
      tags: { ...identification.tags },
      connectedAt: now,
      lastSeen: now,
      heartbeats: supportsHeartbeats(identification.version),
    };
  }

  #write(
    connection: Connection,
    request: PlatformOutboundInstruction["request"],
    instructionId = "",
  ): void {
    if (!this.#connections.has(connection.streamId)) return;
    connection.call.write(create(PlatformOutboundInstructionSchema, { request, instructionId }));
  }

  #beat(): void {
    const now = Date.now();
    const timeout = this.#options.heartbeatTimeoutMs ?? 5_000;
    for (const connection of [...this.#connections.values()]) {
      const client = connection.client;
      if (!client?.heartbeats) continue;
      // Its handler streams delivering counts too: a heartbeat can wait behind a flood of them on one connection.
      const seen = now - client.lastSeen > timeout
        ? Math.max(client.lastSeen, this.#options.lastActivity?.(client.clientId) ?? 0)
        : client.lastSeen;
      if (now - seen > timeout) {
        this.#disconnect(connection);
        connection.call.emit(
          "error",
          axonError(
            SomaErrorCode.CLIENT_DISCONNECTED,
            `No heartbeat from client "${client.clientId}" for ${now - seen} ms`,
            Status.ABORTED,
          ),
        );
        this.#options.onClientDropped?.(client.clientId);
        continue;
      }
      this.#write(connection, {
        case: "heartbeat",
        value: create(HeartbeatSchema),
      });
    }
  }

  #send(
    connection: Connection,
    action: ProcessorAction,
    processor: string,
    segment: number,
  ): Promise<InstructionOutcome> {
    const instructionId = crypto.randomUUID();
    const reference = create(EventProcessorReferenceSchema, { processorName: processor });
    const segmentReference = create(EventProcessorSegmentReferenceSchema, {
      processorName: processor,
      segmentIdentifier: segment,
    });
    const request: PlatformOutboundInstruction["request"] = action === "pause"
      ? { case: "pauseEventProcessor", value: reference }
      : action === "start"
      ? { case: "startEventProcessor", value: reference }
      : action === "split"
      ? { case: "splitEventProcessorSegment", value: segmentReference }
      : action === "merge"
      ? { case: "mergeEventProcessorSegment", value: segmentReference }
      : { case: "releaseSegment", value: segmentReference };
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => this.#settle(instructionId, undefined, "No result within the instruction timeout"),
        this.#options.instructionTimeoutMs ?? 10_000,
      );
      this.#instructions.set(instructionId, {
        streamId: connection.streamId,
        clientId: connection.client!.clientId,
        resolve,
        timer,
      });
      this.#write(connection, request, instructionId);
    });
  }

  #settle(instructionId: string, result: InstructionStatus | undefined, timeoutMessage?: string): void {
    const pending = this.#instructions.get(instructionId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#instructions.delete(instructionId);
    pending.resolve(this.#outcome(instructionId, pending, result, timeoutMessage));
  }

  #outcome(
    instructionId: string,
    pending: PendingInstruction,
    result: InstructionStatus | undefined,
    failure?: string,
  ): InstructionOutcome {
    const fallback: InstructionStatus | undefined = failure === undefined
      ? undefined
      : { success: false, errorCode: AxonErrorCode.INSTRUCTION_EXECUTION_ERROR, message: failure };
    const final = result ?? (pending.ack?.success === false ? undefined : fallback);
    return {
      clientId: pending.clientId,
      instructionId,
      ack: pending.ack,
      result: final,
      success: final ? final.success : pending.ack?.success === true,
    };
  }
}

function statusOf(success: boolean, error: ErrorMessage | undefined): InstructionStatus {
  if (success) return { success };
  return { success, errorCode: error?.errorCode ?? "", message: error?.message ?? "" };
}
