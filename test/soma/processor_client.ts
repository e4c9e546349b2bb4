/**
 * A raw platform client that reports an event processor (EventProcessorInfo) under any client id and processor
 * name, and acknowledges every processor instruction with a successful result — for the status page's tests.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  EventProcessorInfoSchema,
  type PlatformInboundInstruction,
  PlatformInboundInstructionSchema,
  type PlatformOutboundInstruction,
} from "../../src/gen/axon/control_pb.ts";
import { Inbox, platform, RawClient } from "./raw_client.ts";

/** One reported segment. */
export interface ReportedSegment {
  readonly segment: number;
  readonly onePartOf: number;
  readonly tokenPosition: number;
}

/** A connected, registered platform client. */
export interface ProcessorClient {
  /** Instructions received so far (pause, start, split, …). */
  readonly instructions: PlatformOutboundInstruction[];
  readonly inbox: Inbox<PlatformOutboundInstruction>;
  /** Reports the processor and waits until soma acknowledged the report. */
  report(running: boolean, segments: readonly ReportedSegment[]): Promise<void>;
  close(): void;
}

function inbound(
  request: PlatformInboundInstruction["request"],
  instructionId = "",
): PlatformInboundInstruction {
  return create(PlatformInboundInstructionSchema, { request, instructionId });
}

/** Connects to soma on `port`, registers `clientId`, and answers instructions for `processorName`. */
export async function processorClient(
  port: number,
  options: { readonly token?: string; readonly clientId: string; readonly processorName: string },
): Promise<ProcessorClient> {
  const client = new RawClient(port, { token: options.token });
  const call = client.bidi(platform.openStream);
  const inbox = new Inbox<PlatformOutboundInstruction>(call);
  const instructions: PlatformOutboundInstruction[] = [];
  call.on("data", (message: PlatformOutboundInstruction) => {
    if (message.instructionId === "" || message.request.case === "ack") return;
    instructions.push(message);
    const instructionId = message.instructionId;
    call.write(inbound({
      case: "ack",
      value: { $typeName: "io.axoniq.axonserver.grpc.InstructionAck", instructionId, success: true },
    }));
    call.write(inbound({
      case: "result",
      value: { $typeName: "io.axoniq.axonserver.grpc.InstructionResult", instructionId, success: true },
    }));
  });
  let reports = 0;
  const acked = (id: string) => (m: PlatformOutboundInstruction) =>
    m.request.case === "ack" && m.request.value.instructionId === id;
  call.write(inbound({
    case: "register",
    value: {
      $typeName: "io.axoniq.axonserver.grpc.control.ClientIdentification",
      clientId: options.clientId,
      componentName: "dashboard-test",
      version: "4.6.0",
      tags: {},
    },
  }, "register"));
  await inbox.next(acked("register"));
  return {
    instructions,
    inbox,
    async report(running, segments) {
      const id = `report-${++reports}`;
      call.write(inbound({
        case: "eventProcessorInfo",
        value: create(EventProcessorInfoSchema, {
          processorName: options.processorName,
          mode: "Tracking",
          running,
          activeThreads: segments.length,
          segmentStatus: segments.map((s) => ({
            segmentId: s.segment,
            onePartOf: s.onePartOf,
            tokenPosition: BigInt(s.tokenPosition),
          })),
        }),
      }, id));
      await inbox.next(acked(id));
    },
    close() {
      call.end();
      client.close();
    },
  };
}
