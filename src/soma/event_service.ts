/**
 * soma's EventStore service: the Axon aggregate and tracking APIs over a dendrite `EventStore` (SQLite in
 * practice). One `AppendEvent` call is one atomic append; a sequence conflict is `OUT_OF_RANGE` with trailer
 * `AxonIQ-ErrorCode: AXONIQ-2000` and stores nothing.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import {
  type handleBidiStreamingCall,
  type MethodDefinition,
  type sendUnaryData,
  type ServerWritableStream,
  type ServiceDefinition,
  status as Status,
} from "@grpc/grpc-js";
import { AxonErrorCode, type EventStore } from "../dendrite/mod.ts";
import { grpcService, type GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import { ListEventsCall, type ListEventsContext } from "./list_events.ts";
import {
  type Confirmation,
  ConfirmationSchema,
  type Event,
  EventStore as EventStoreService,
  type GetAggregateEventsRequest,
  type GetAggregateSnapshotsRequest,
  type GetEventsRequest,
  ReadHighestSequenceNrResponseSchema,
  TrackingTokenSchema,
} from "../gen/axon/event_pb.ts";
import { fromAxonEvent, toAxonEvent } from "../dendrite/axon/protocol/messages.ts";
import { AppendEventCall } from "./append_event.ts";
import { answer, callSignal } from "./calls.ts";
import { axonError, toServiceError } from "./grpc_errors.ts";
import { framedWritesUnavailable, GRPC_JS_VERSION, writeWithBackpressure } from "./streams.ts";

/** Options of {@link eventStoreService}. */
export interface EventServiceOptions {
  readonly store: EventStore;
  /** A blacklisted event is still sent after this many were skipped, so the reader's token advances (1 000). */
  readonly blacklistSendAfter?: number;
  /** Aborts every open read (server shutdown). */
  readonly signal: AbortSignal;
  /**
   * Told once when ListEvents cannot write runs of events in one write (see `framedWriter` in streams.ts) and writes
   * message by message instead: another grpc-js version than the one the fast path was verified against, or
   * internals not as expected.
   */
  readonly onFallback?: (reason: string) => void;
  /** The grpc-js version to assume (default: the loaded one); tests pass another to take the fallback path. */
  readonly grpcJsVersion?: string;
}

/** The implementation type: as generated, except that ListEvents writes pre-encoded `EventWithToken` bytes. */
export type EventStoreImplementation =
  & Omit<GrpcServiceImplementation<typeof EventStoreService.method>, "listEvents">
  & { listEvents: handleBidiStreamingCall<GetEventsRequest, Uint8Array> };

/** The EventStore service definition, with ListEvents responses written as pre-encoded bytes. */
export function eventStoreDefinition(): ServiceDefinition {
  const definition = grpcService(EventStoreService);
  const listEvents: MethodDefinition<GetEventsRequest, Uint8Array> = {
    ...definition.listEvents,
    responseSerialize: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    responseDeserialize: (bytes) => bytes,
  };
  return { ...definition, listEvents };
}

/** Builds the gRPC implementation. */
export function eventStoreService(options: EventServiceOptions): EventStoreImplementation {
  const { store } = options;
  const context = listEventsContext(options);
  const signalOf = (call: Parameters<typeof callSignal>[0]) => callSignal(call, options.signal);
  const unary = <T>(work: () => Promise<T>, callback: sendUnaryData<T>) =>
    answer(work, callback, toServiceError);
  return {
    appendEvent: (call, callback) => void new AppendEventCall(store, call, callback),
    appendSnapshot: (call, callback) => appendSnapshot(store, call.request, callback),
    listAggregateEvents: (call) => void listAggregateEvents(store, call, signalOf(call)),
    listAggregateSnapshots: (call) => void listAggregateSnapshots(store, call, signalOf(call)),
    listEvents: (call) => void new ListEventsCall(call, context, signalOf(call)),
    readHighestSequenceNr: (call, callback) =>
      unary(async () =>
        create(ReadHighestSequenceNrResponseSchema, {
          toSequenceNr: BigInt(await store.highestSequence(call.request.aggregateId)),
        }), callback),
    queryEvents: (call) =>
      call.emit(
        "error",
        axonError(AxonErrorCode.OTHER, "QueryEvents is not implemented by soma", Status.UNIMPLEMENTED),
      ),
    getFirstToken: (_call, callback) =>
      unary(async () => create(TrackingTokenSchema, { token: BigInt(await store.firstToken()) }), callback),
    getLastToken: (_call, callback) =>
      unary(async () => create(TrackingTokenSchema, { token: BigInt(await store.lastToken()) }), callback),
    getTokenAt: (call, callback) =>
      unary(
        async () =>
          create(TrackingTokenSchema, { token: BigInt(await store.tokenAt(Number(call.request.instant))) }),
        callback,
      ),
  };
}

/** What the ListEvents calls share; the fallback to one write per event is reported once. */
function listEventsContext(options: EventServiceOptions): ListEventsContext {
  const grpcJsVersion = options.grpcJsVersion ?? GRPC_JS_VERSION;
  let fallbackReported = false;
  const reportFallback = (reason: string) => {
    if (fallbackReported) return;
    fallbackReported = true;
    options.onFallback?.(reason);
  };
  const framedUnavailable = framedWritesUnavailable(grpcJsVersion);
  if (framedUnavailable !== undefined) reportFallback(framedUnavailable);
  const sendAfter = options.blacklistSendAfter ?? 1_000;
  return { store: options.store, sendAfter, grpcJsVersion, framedUnavailable, reportFallback };
}

/** AppendSnapshot: a snapshot needs its aggregate. */
function appendSnapshot(store: EventStore, request: Event, callback: sendUnaryData<Confirmation>): void {
  const record = fromAxonEvent(request);
  const aggregate = record.aggregate;
  if (!aggregate) {
    const message = "A snapshot needs an aggregate identifier and type";
    return callback(axonError(AxonErrorCode.OTHER, message, Status.INVALID_ARGUMENT));
  }
  answer(
    () =>
      store.appendSnapshot({ ...record, aggregate }).then(() =>
        create(ConfirmationSchema, { success: true })
      ),
    callback,
    toServiceError,
  );
}

/** ListAggregateEvents: from the latest snapshot when allowed, then the events after it, up to `maxSequence`. */
async function listAggregateEvents(
  store: EventStore,
  call: ServerWritableStream<GetAggregateEventsRequest, Event>,
  signal: AbortSignal,
): Promise<void> {
  const request = call.request;
  const max = request.maxSequence > 0n ? Number(request.maxSequence) : Infinity;
  try {
    let from = Number(request.initialSequence);
    if (request.allowSnapshots) {
      for await (
        const snapshot of store.readSnapshots(request.aggregateId, {
          fromSequence: from,
          maxSequence: Number.isFinite(max) ? max : undefined,
          maxResults: 1,
          signal,
        })
      ) {
        await writeWithBackpressure(call, toAxonEvent(snapshot, true), signal);
        from = snapshot.aggregate.sequence + 1;
      }
    }
    for await (const event of store.readAggregate(request.aggregateId, { fromSequence: from, signal })) {
      if (event.aggregate.sequence > max) break;
      await writeWithBackpressure(call, toAxonEvent(event), signal);
    }
    call.end();
  } catch (error) {
    if (!signal.aborted) call.emit("error", toServiceError(error));
  }
}

/** ListAggregateSnapshots. */
async function listAggregateSnapshots(
  store: EventStore,
  call: ServerWritableStream<GetAggregateSnapshotsRequest, Event>,
  signal: AbortSignal,
): Promise<void> {
  const request = call.request;
  try {
    for await (
      const snapshot of store.readSnapshots(request.aggregateId, {
        fromSequence: Number(request.initialSequence),
        maxSequence: request.maxSequence > 0n ? Number(request.maxSequence) : undefined,
        maxResults: request.maxResults,
        signal,
      })
    ) {
      await writeWithBackpressure(call, toAxonEvent(snapshot, true), signal);
    }
    call.end();
  } catch (error) {
    if (!signal.aborted) call.emit("error", toServiceError(error));
  }
}
