/**
 * soma's EventStore service: the Axon aggregate and tracking APIs over a dendrite `EventStore` (SQLite in
 * practice). One `AppendEvent` call is one atomic append; a sequence conflict is `OUT_OF_RANGE` with trailer
 * `AxonIQ-ErrorCode: AXONIQ-2000` and stores nothing.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import {
  type handleBidiStreamingCall,
  type MethodDefinition,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerWritableStream,
  type ServiceDefinition,
  status as Status,
} from "@grpc/grpc-js";
import { AxonErrorCode, type EventRecord, type EventStore } from "../dendrite/mod.ts";
import { grpcService, type GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import { ListEventsCall, type ListEventsContext } from "./list_events.ts";
import {
  type Confirmation,
  ConfirmationSchema,
  type Event,
  EventStore as EventStoreService,
  type GetAggregateEventsRequest,
  type GetEventsRequest,
  ReadHighestSequenceNrResponseSchema,
  TrackingTokenSchema,
} from "../gen/axon/event_pb.ts";
import { fromAxonEvent, toAxonEvent } from "../dendrite/axon/protocol/messages.ts";
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
  const sendAfter = options.blacklistSendAfter ?? 1_000;
  const grpcJsVersion = options.grpcJsVersion ?? GRPC_JS_VERSION;
  let fallbackReported = false;
  const reportFallback = (reason: string) => {
    if (fallbackReported) return;
    fallbackReported = true;
    options.onFallback?.(reason);
  };
  const unavailable = framedWritesUnavailable(grpcJsVersion);
  if (unavailable !== undefined) reportFallback(unavailable);

  const callSignal = (call: { on(event: "cancelled", listener: () => void): unknown }) => {
    const controller = new AbortController();
    call.on("cancelled", () => controller.abort(new DOMException("Call cancelled", "AbortError")));
    return AbortSignal.any([controller.signal, options.signal]);
  };

  const appendEvent = (
    call: ServerReadableStream<Event, Confirmation>,
    callback: sendUnaryData<Confirmation>,
  ) => {
    const events: EventRecord[] = [];
    let cancelled = false;
    let refused: string | undefined;
    call.on("data", (event: Event) => {
      refused ??= aggregateFieldsProblem(event, events.length);
      if (refused === undefined) events.push(fromAxonEvent(event));
    });
    call.on("cancelled", () => (cancelled = true));
    call.on("error", () => (cancelled = true));
    call.on("end", () => {
      // A reset stream (client cancel, dead connection) also ends the readable side, and grpc-js reports the
      // cancel only in a later tick: commit after a macrotask, once every pending tick ran, and only if the
      // stream was a real half-close. Cancel = discard.
      setImmediate(() => {
        if (cancelled) return;
        if (refused !== undefined) {
          return callback(axonError(AxonErrorCode.OTHER, refused, Status.INVALID_ARGUMENT));
        }
        store.append(events).then(
          () => callback(null, create(ConfirmationSchema, { success: true })),
          (error) => callback(toServiceError(error)),
        );
      });
    });
  };

  const listAggregateEvents = async (call: ServerWritableStream<GetAggregateEventsRequest, Event>) => {
    const request = call.request;
    const signal = callSignal(call);
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
  };

  const listEventsContext: ListEventsContext = {
    store,
    sendAfter,
    grpcJsVersion,
    framedUnavailable: unavailable,
    reportFallback,
  };
  const listEvents = (call: ServerDuplexStream<GetEventsRequest, Uint8Array>) =>
    void new ListEventsCall(call, listEventsContext, callSignal(call));

  const unary = <T>(work: () => Promise<T>, callback: sendUnaryData<T>) => {
    work().then((value) => callback(null, value), (error) => callback(toServiceError(error)));
  };

  return {
    appendEvent,
    appendSnapshot: (call, callback) => {
      const record = fromAxonEvent(call.request);
      if (!record.aggregate) {
        return callback(
          axonError(
            AxonErrorCode.OTHER,
            "A snapshot needs an aggregate identifier and type",
            Status.INVALID_ARGUMENT,
          ),
        );
      }
      unary(
        () =>
          store.appendSnapshot({ ...record, aggregate: record.aggregate! }).then(() =>
            create(ConfirmationSchema, { success: true })
          ),
        callback,
      );
    },
    listAggregateEvents: (call) => void listAggregateEvents(call),
    listAggregateSnapshots: async (call) => {
      const request = call.request;
      const signal = callSignal(call);
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
    },
    listEvents,
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

/**
 * Why an event's aggregate fields cannot be stored as sent, if they cannot. A domain event has an aggregate type
 * (Axon's rule); an aggregate identifier or sequence without one would be stored without them and without a
 * sequence check, so it is refused instead (docs/soma.md).
 */
function aggregateFieldsProblem(event: Event, index: number): string | undefined {
  if (event.aggregateType !== "") return undefined;
  if (event.aggregateIdentifier === "" && event.aggregateSequenceNumber === 0n) return undefined;
  return `Event ${index} ("${event.messageIdentifier}") has aggregate identifier "${event.aggregateIdentifier}" ` +
    `and sequence ${event.aggregateSequenceNumber} but no aggregate type: a domain event needs its aggregate ` +
    "type, a non-domain event has no aggregate identifier or sequence";
}
