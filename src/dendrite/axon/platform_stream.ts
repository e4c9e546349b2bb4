/**
 * The platform stream of one connection: its read loop, heartbeats both ways, an acknowledgement for every
 * instruction the server sends, processor instructions handed to the managed processors (without waiting for them),
 * periodic `EventProcessorInfo` reports, and the server's `request_reconnect`.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { ErrorMessageSchema, InstructionResultSchema } from "../../gen/axon/common_pb.ts";
import {
  HeartbeatSchema,
  type PlatformInboundInstruction,
  PlatformInboundInstructionSchema,
  type PlatformOutboundInstruction,
} from "../../gen/axon/control_pb.ts";
import { AxonErrorCode } from "../core/errors.ts";
import { newMessageId } from "../core/message.ts";
import { HeartbeatMonitor, type HeartbeatSettings } from "./heartbeat.ts";
import { type ManagedProcessor, type ManagedProcessors, processorInfo } from "./managed_processors.ts";
import { instructionAck } from "./protocol/instructions.ts";
import type { BidiStream } from "./rpc.ts";

/**
 * What a platform stream needs from its connection.
 *
 * @example
 * ```ts
 * import type { PlatformStreamSettings } from "./platform_stream.ts";
 * import { ManagedProcessors } from "./managed_processors.ts";
 * const settings: PlatformStreamSettings = {
 *   clientId: "greeter-1",
 *   heartbeat: { intervalMs: 10_000, timeoutMs: 7_500 },
 *   processorInfoIntervalMs: 2_000,
 *   processors: new ManagedProcessors(),
 *   broken: (reason) => console.warn("reconnecting:", reason),
 * };
 * console.log(settings.clientId);
 * ```
 */
export interface PlatformStreamSettings {
  /** This instance's client id (the location of errors it reports). */
  readonly clientId: string;
  /** Heartbeat settings, or `false` for none. */
  readonly heartbeat: HeartbeatSettings | false;
  /** How often processor status is reported. */
  readonly processorInfoIntervalMs: number;
  /** The processors the server may control. */
  readonly processors: ManagedProcessors;
  /** Called when the connection must be re-established. */
  readonly broken: (reason: unknown) => void;
}

/** One open platform stream (`PlatformService.OpenStream`), already registered. */
export class PlatformStream {
  readonly #stream: BidiStream<PlatformInboundInstruction, PlatformOutboundInstruction>;
  readonly #settings: PlatformStreamSettings;
  readonly #pendingAcks = new Map<string, (ok: boolean) => void>();
  #heartbeat: HeartbeatMonitor | undefined;

  /** Wraps `stream`; nothing runs before `run()`. */
  constructor(
    stream: BidiStream<PlatformInboundInstruction, PlatformOutboundInstruction>,
    settings: PlatformStreamSettings,
  ) {
    this.#stream = stream;
    this.#settings = settings;
  }

  /** Reads the stream until `signal` aborts (resolves) or the stream ends or fails (rejects); then cancels it. */
  async run(signal: AbortSignal): Promise<void> {
    const { heartbeat, processorInfoIntervalMs, broken } = this.#settings;
    if (heartbeat) this.#heartbeat = new HeartbeatMonitor(heartbeat, (ok) => this.#ping(ok), broken);
    const reports = setInterval(() => this.#reportProcessors(), processorInfoIntervalMs);
    try {
      for await (const instruction of this.#stream.responses) {
        if (signal.aborted) break;
        this.#handle(instruction);
      }
    } finally {
      this.#heartbeat?.stop();
      clearInterval(reports);
      this.#stream.cancel();
      for (const resolve of this.#pendingAcks.values()) resolve(false);
      this.#pendingAcks.clear();
    }
    if (!signal.aborted) throw new Error("The platform stream ended");
  }

  #ping(acknowledged: (ok: boolean) => void): void {
    const instructionId = newMessageId();
    this.#pendingAcks.set(instructionId, acknowledged);
    this.#send(create(PlatformInboundInstructionSchema, {
      instructionId,
      request: { case: "heartbeat", value: create(HeartbeatSchema) },
    }));
  }

  #send(message: PlatformInboundInstruction): void {
    this.#stream.send(message);
  }

  #ack(instructionId: string, success: boolean): void {
    if (!instructionId) return;
    this.#send(create(PlatformInboundInstructionSchema, {
      request: { case: "ack", value: instructionAck(instructionId, success, this.#settings.clientId) },
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
            location: this.#settings.clientId,
          }),
        }),
      },
    }));
  }

  /**
   * Handles one instruction without waiting for processor work: the read loop must keep taking heartbeats and
   * acks while a processor splits or merges (a slow merge must not look like a dead connection).
   */
  #handle(instruction: PlatformOutboundInstruction): void {
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
        this.#heartbeat?.alive();
        this.#ack(id, true);
        this.#send(create(PlatformInboundInstructionSchema, {
          request: { case: "heartbeat", value: create(HeartbeatSchema) },
        }));
        return;
      case "requestReconnect":
        this.#ack(id, true);
        this.#settings.broken(new Error("The server asked for a reconnect"));
        return;
      case "nodeNotification":
        this.#ack(id, true);
        return;
      case "requestEventProcessorInfo":
        this.#ack(id, true);
        this.#reportProcessor(id, request.value.processorName);
        return;
      case "pauseEventProcessor":
      case "startEventProcessor":
      case "releaseSegment":
      case "splitEventProcessorSegment":
      case "mergeEventProcessorSegment": {
        this.#ack(id, true);
        const segment = "segmentIdentifier" in request.value ? request.value.segmentIdentifier : 0;
        this.#settings.processors.control(
          request.value.processorName,
          request.case,
          segment,
          (error) => this.#result(id, error),
        );
        return;
      }
      default:
        this.#ack(id, false);
    }
  }

  /** Answers `requestEventProcessorInfo`: the processor's info, then the instruction's result. */
  #reportProcessor(id: string, name: string): void {
    const processor = this.#settings.processors.get(name);
    if (processor) this.#sendInfo(processor);
    this.#result(id, processor ? undefined : new Error(`Unknown processor "${name}"`));
  }

  #reportProcessors(): void {
    for (const processor of this.#settings.processors.all()) this.#sendInfo(processor);
  }

  #sendInfo(processor: ManagedProcessor): void {
    this.#send(create(PlatformInboundInstructionSchema, {
      request: { case: "eventProcessorInfo", value: processorInfo(processor) },
    }));
  }
}
