/**
 * soma's DcbEventStore service: the Axon DCB API (`dcb.proto`) over dendrite's SQLite DCB store. One `Append`
 * call is one transaction: the condition (from whichever request carries it) is checked and the events inserted
 * in one SQLite transaction. A failed condition is `FAILED_PRECONDITION` with trailer `AxonIQ-ErrorCode:
 * AXONIQ-2000` and stores nothing (see docs/soma.md for why that code).
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  type sendUnaryData,
  type ServerReadableStream,
  type ServerWritableStream,
  status as Status,
} from "@grpc/grpc-js";
import { AxonErrorCode } from "../dendrite/mod.ts";
import {
  type AppendCondition,
  ConsistencyViolationError,
  type DcbEventStore,
  type TaggedEvent,
  UnknownSequenceError,
} from "../dendrite/dcb/mod.ts";
import type { GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import {
  fromWireCondition,
  fromWireCriteria,
  fromWireTag,
  fromWireTaggedEvent,
  toWireSequencedEvent,
  toWireTag,
} from "../dendrite/axon/protocol/dcb.ts";
import {
  AddTagsResponseSchema,
  type AppendEventsRequest,
  type AppendEventsResponse,
  AppendEventsResponseSchema,
  type DcbEventStore as DcbEventStoreService,
  GetHeadResponseSchema,
  GetSequenceAtResponseSchema,
  GetTagsResponseSchema,
  GetTailResponseSchema,
  RemoveTagsResponseSchema,
  type SourceEventsRequest,
  type SourceEventsResponse,
  SourceEventsResponseSchema,
  type StreamEventsRequest,
  type StreamEventsResponse,
  StreamEventsResponseSchema,
} from "../gen/axon/dcb_pb.ts";
import { axonError, type AxonServiceError, toServiceError } from "./grpc_errors.ts";
import { answer, callSignal } from "./calls.ts";
import { writeWithBackpressure } from "./streams.ts";

/** Options of {@link dcbEventStoreService}. */
export interface DcbServiceOptions {
  readonly store: DcbEventStore;
  /** Aborts every open stream (server shutdown). */
  readonly signal: AbortSignal;
}

/** The gRPC error of a DCB call: a failed condition, a bad argument, or a storage failure. */
export function dcbServiceError(error: unknown): AxonServiceError {
  if (error instanceof ConsistencyViolationError) {
    return axonError(error.code, error.message, Status.FAILED_PRECONDITION);
  }
  if (error instanceof RangeError || error instanceof UnknownSequenceError) {
    return axonError(AxonErrorCode.OTHER, error.message, Status.INVALID_ARGUMENT);
  }
  return toServiceError(error);
}

/** Builds the gRPC implementation. */
export function dcbEventStoreService(
  options: DcbServiceOptions,
): GrpcServiceImplementation<typeof DcbEventStoreService.method> {
  const { store } = options;
  const unary = <T>(work: () => Promise<T>, callback: sendUnaryData<T>) =>
    answer(work, callback, dcbServiceError);
  return {
    append: (call, callback) => void new DcbAppendCall(store, call, callback),
    source: (call) => void source(store, call, callSignal(call, options.signal)),
    stream: (call) => void stream(store, call, callSignal(call, options.signal), options.signal),
    getHead: (_call, callback) =>
      unary(async () => create(GetHeadResponseSchema, { sequence: BigInt(await store.head()) }), callback),
    getTail: (_call, callback) =>
      unary(async () => create(GetTailResponseSchema, { sequence: BigInt(await store.tail()) }), callback),
    getSequenceAt: (call, callback) =>
      unary(async () =>
        create(GetSequenceAtResponseSchema, {
          sequence: BigInt(await store.sequenceAt(Number(call.request.timestamp))),
        }), callback),
    addTags: (call, callback) =>
      unary(async () => {
        await store.addTags(Number(call.request.sequence), call.request.tag.map(fromWireTag));
        return create(AddTagsResponseSchema, {});
      }, callback),
    removeTags: (call, callback) =>
      unary(async () => {
        await store.removeTags(Number(call.request.sequence), call.request.tag.map(fromWireTag));
        return create(RemoveTagsResponseSchema, {});
      }, callback),
    getTags: (call, callback) =>
      unary(async () => {
        const tags = await store.getTags(Number(call.request.sequence));
        return create(GetTagsResponseSchema, { tag: tags.map(toWireTag) });
      }, callback),
  };
}

/** One Append call: the requests' events and the one condition, appended in one transaction at the half-close. */
class DcbAppendCall {
  readonly #store: DcbEventStore;
  readonly #callback: sendUnaryData<AppendEventsResponse>;
  readonly #events: TaggedEvent[] = [];
  #condition: AppendCondition | undefined;
  #failure: unknown;
  #cancelled = false;

  constructor(
    store: DcbEventStore,
    call: ServerReadableStream<AppendEventsRequest, AppendEventsResponse>,
    callback: sendUnaryData<AppendEventsResponse>,
  ) {
    this.#store = store;
    this.#callback = callback;
    call.on("data", (request: AppendEventsRequest) => this.#add(request));
    call.on("cancelled", () => (this.#cancelled = true));
    call.on("error", () => (this.#cancelled = true));
    call.on("end", () => this.#commit());
  }

  #add(request: AppendEventsRequest): void {
    if (this.#failure) return;
    try {
      if (request.condition) {
        if (this.#condition) throw new RangeError("A transaction carries one consistency condition");
        this.#condition = fromWireCondition(request.condition);
      }
      for (const tagged of request.event) this.#events.push(fromWireTaggedEvent(tagged));
    } catch (error) {
      this.#failure = error;
    }
  }

  #commit(): void {
    if (this.#cancelled) return;
    if (this.#failure) return this.#callback(dcbServiceError(this.#failure));
    this.#store.append(this.#events, this.#condition).then(
      (result) =>
        this.#callback(
          null,
          create(AppendEventsResponseSchema, {
            sequenceOfTheFirstEvent: BigInt(result.firstSequence),
            transactionSize: result.count,
            consistencyMarker: BigInt(result.marker),
          }),
        ),
      (error) => this.#callback(dcbServiceError(error)),
    );
  }
}

/** Source: the matching events from a sequence, then the consistency marker. */
async function source(
  store: DcbEventStore,
  call: ServerWritableStream<SourceEventsRequest, SourceEventsResponse>,
  signal: AbortSignal,
): Promise<void> {
  try {
    const criteria = fromWireCriteria(call.request.criterion);
    const { events, marker } = await store.source(criteria, { from: Number(call.request.fromSequence) });
    for (const event of events) {
      const message = create(SourceEventsResponseSchema, {
        result: { case: "event", value: toWireSequencedEvent(event) },
      });
      await writeWithBackpressure(call, message, signal);
    }
    const end = create(SourceEventsResponseSchema, {
      result: { case: "consistencyMarker", value: BigInt(marker) },
    });
    await writeWithBackpressure(call, end, signal);
    call.end();
  } catch (error) {
    if (!signal.aborted) call.emit("error", dcbServiceError(error));
  }
}

/** Stream: the matching events from a sequence, following the store until the call ends (or soma shuts down). */
async function stream(
  store: DcbEventStore,
  call: ServerWritableStream<StreamEventsRequest, StreamEventsResponse>,
  signal: AbortSignal,
  shutdown: AbortSignal,
): Promise<void> {
  try {
    const criteria = fromWireCriteria(call.request.criterion);
    for await (const event of store.stream(criteria, { from: Number(call.request.fromSequence), signal })) {
      const message = create(StreamEventsResponseSchema, { event: toWireSequencedEvent(event) });
      await writeWithBackpressure(call, message, signal);
    }
    if (shutdown.aborted) call.end();
  } catch (error) {
    if (!signal.aborted) call.emit("error", dcbServiceError(error));
  }
}
