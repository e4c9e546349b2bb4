/**
 * soma's DcbEventScheduler service: soma's durable `Scheduler` (its own SQLite file, `dcb_scheduler.sqlite`),
 * publishing due events into the DCB store, untagged and unconditionally (the scheduling request carries no
 * tags). A DCB event is kept in the scheduler as the classic event it maps onto: name → payload type,
 * version → revision, metadata as text values.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import type { AppendResult, EventRecord, EventStore } from "../dendrite/mod.ts";
import type { DcbEventStore } from "../dendrite/dcb/mod.ts";
import { fromWireDcbEvent } from "../dendrite/axon/protocol/dcb.ts";
import type { GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import { InstructionAckSchema } from "../gen/axon/common_pb.ts";
import { type DcbEventScheduler, type Event, ScheduleTokenSchema } from "../gen/axon/dcb_pb.ts";
import { toAxonEvent } from "../dendrite/axon/protocol/messages.ts";
import { axonError, SomaErrorCode } from "./grpc_errors.ts";
import type { Scheduler } from "./scheduler.ts";

/** Where the scheduler publishes: the DCB store, through the classic `append` the scheduler calls. */
export function dcbPublisher(store: DcbEventStore): Pick<EventStore, "append"> {
  return {
    async append(events: readonly EventRecord[]): Promise<AppendResult> {
      await store.append(events.map((record) => ({
        event: {
          id: record.id,
          timestamp: record.timestamp,
          name: record.payload.type,
          version: record.payload.revision,
          payload: record.payload.data,
          metadata: Object.fromEntries(Object.entries(record.metadata).map(([k, v]) => [k, String(v)])),
        },
        tags: [],
      })));
      return {};
    },
  };
}

/** The classic event a DCB event is kept as while scheduled. */
function toScheduled(event: Event): ReturnType<typeof toAxonEvent> {
  const dcb = fromWireDcbEvent(event);
  return toAxonEvent({
    id: dcb.id ?? crypto.randomUUID(),
    timestamp: dcb.timestamp ?? Date.now(),
    payload: { type: dcb.name, revision: dcb.version ?? "", data: dcb.payload },
    metadata: dcb.metadata ?? {},
  });
}

/** The gRPC implementation of DcbEventScheduler over a {@link Scheduler} publishing with {@link dcbPublisher}. */
export function dcbSchedulerService(
  scheduler: Scheduler,
): GrpcServiceImplementation<typeof DcbEventScheduler.method> {
  const missingEvent = () =>
    axonError(SomaErrorCode.SCHEDULED_EVENT_NOT_FOUND, "The request carries no event to schedule");
  const noName = () =>
    axonError(SomaErrorCode.OTHER, "A scheduled DCB event needs a name", Status.INVALID_ARGUMENT);
  return {
    scheduleEvent: (call, callback) => {
      const event = call.request.event;
      if (!event) return callback(missingEvent());
      if (event.name === "") return callback(noName());
      const token = scheduler.schedule(Number(call.request.instant), toScheduled(event));
      callback(null, create(ScheduleTokenSchema, { token }));
    },
    rescheduleEvent: (call, callback) => {
      const event = call.request.event;
      if (!event) return callback(missingEvent());
      if (event.name === "") return callback(noName());
      if (call.request.token !== "") scheduler.cancel(call.request.token);
      const token = scheduler.schedule(Number(call.request.instant), toScheduled(event));
      callback(null, create(ScheduleTokenSchema, { token }));
    },
    cancelScheduledEvent: (call, callback) => {
      scheduler.cancel(call.request.token);
      callback(null, create(InstructionAckSchema, { instructionId: call.request.token, success: true }));
    },
  };
}
