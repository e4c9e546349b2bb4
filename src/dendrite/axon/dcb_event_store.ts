/**
 * The DcbEventStore port on the Axon DCB API (`DcbEventStore` service of Axon Server 2025.1+, and soma): one
 * `Append` client stream per transaction, `Source` read to its consistency marker, `Stream` as a server stream.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  AddTagsRequestSchema,
  AppendEventsRequestSchema,
  DcbEventStore as DcbEventStoreService,
  GetHeadRequestSchema,
  GetSequenceAtRequestSchema,
  GetTagsRequestSchema,
  GetTailRequestSchema,
  RemoveTagsRequestSchema,
  SourceEventsRequestSchema,
  StreamEventsRequestSchema,
} from "../../gen/axon/dcb_pb.ts";
import { ConcurrencyError } from "../core/errors.ts";
import {
  type AppendCondition,
  checkSequence,
  ConsistencyViolationError,
  type Criterion,
  type DcbAppendResult,
  type DcbCallOptions,
  type DcbEventStore,
  type DcbReadOptions,
  type SequencedEvent,
  type Sourced,
  type Tag,
  type TaggedEvent,
} from "../dcb/dcb_event_store.ts";
import type { AxonConnection } from "./connection.ts";
import {
  fromWireSequencedEvent,
  fromWireTag,
  toWireCondition,
  toWireCriteria,
  toWireTag,
  toWireTaggedEvent,
} from "./protocol/dcb.ts";

/**
 * DCB events through Axon Server (or soma).
 *
 * @example
 * ```ts
 * import { AxonDcbEventStore } from "./dcb_event_store.ts";
 * import { tag } from "../dcb/dcb_event_store.ts";
 * import { AxonConnection } from "./connection.ts";
 * const connection = await AxonConnection.connect({ address: "localhost:8124", componentName: "greeter" });
 * const store = new AxonDcbEventStore(connection);
 * const { events, marker } = await store.source([{ names: ["CourseCreated"], tags: [tag("course", "c1")] }]);
 * ```
 */
export class AxonDcbEventStore implements DcbEventStore {
  readonly #connection: AxonConnection;

  /** The DCB event store of the server behind `connection`. */
  constructor(connection: AxonConnection) {
    this.#connection = connection;
  }

  /** Appends the events atomically, on `condition` when given; see {@link DcbEventStore.append}. */
  async append(
    events: readonly TaggedEvent[],
    condition?: AppendCondition,
    options: DcbCallOptions = {},
  ): Promise<DcbAppendResult> {
    if (condition) checkSequence(condition.marker, "consistency marker");
    const request = create(AppendEventsRequestSchema, {
      condition: condition ? toWireCondition(condition) : undefined,
      event: events.map(toWireTaggedEvent),
    });
    try {
      const response = await this.#connection.rpc().clientStream(DcbEventStoreService.method.append, [
        request,
      ], {
        signal: options.signal,
        timeoutMs: 10_000,
      });
      return {
        firstSequence: Number(response.sequenceOfTheFirstEvent),
        count: response.transactionSize,
        marker: Number(response.consistencyMarker),
      };
    } catch (error) {
      if (error instanceof ConcurrencyError && !(error instanceof ConsistencyViolationError)) {
        throw new ConsistencyViolationError(error.message, { cause: error });
      }
      throw error;
    }
  }

  /** The events matching `criteria` and the marker to append with; see {@link DcbEventStore.source}. */
  async source(criteria: readonly Criterion[], options: DcbReadOptions = {}): Promise<Sourced> {
    const from = options.from ?? 0;
    checkSequence(from, "start sequence");
    const request = create(SourceEventsRequestSchema, {
      fromSequence: BigInt(from),
      criterion: toWireCriteria(criteria),
    });
    const events: SequencedEvent[] = [];
    let marker: number | undefined;
    for await (
      const response of this.#connection.rpc().serverStream(DcbEventStoreService.method.source, request, {
        signal: options.signal,
      })
    ) {
      if (response.result.case === "event") events.push(fromWireSequencedEvent(response.result.value));
      else if (response.result.case === "consistencyMarker") marker = Number(response.result.value);
    }
    if (marker === undefined) throw new Error("Source ended without a consistency marker");
    return { events, marker };
  }

  /** The events matching `criteria` in sequence order, following new ones when asked; see {@link DcbEventStore.stream}. */
  async *stream(criteria: readonly Criterion[], options: DcbReadOptions = {}): AsyncIterable<SequencedEvent> {
    const from = options.from ?? 0;
    checkSequence(from, "start sequence");
    const request = create(StreamEventsRequestSchema, {
      fromSequence: BigInt(from),
      criterion: toWireCriteria(criteria),
    });
    try {
      for await (
        const response of this.#connection.rpc().serverStream(DcbEventStoreService.method.stream, request, {
          signal: options.signal,
        })
      ) {
        yield fromWireSequencedEvent(response.event);
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error;
    }
  }

  /** The sequence the next event gets. */
  async head(options: DcbCallOptions = {}): Promise<number> {
    const response = await this.#connection.rpc().unary(
      DcbEventStoreService.method.getHead,
      create(GetHeadRequestSchema, {}),
      options,
    );
    return Number(response.sequence);
  }

  /** The sequence of the first stored event. */
  async tail(options: DcbCallOptions = {}): Promise<number> {
    const response = await this.#connection.rpc().unary(
      DcbEventStoreService.method.getTail,
      create(GetTailRequestSchema, {}),
      options,
    );
    return Number(response.sequence);
  }

  /** The first sequence stored at or after `timestamp`. */
  async sequenceAt(timestamp: number, options: DcbCallOptions = {}): Promise<number> {
    const response = await this.#connection.rpc().unary(
      DcbEventStoreService.method.getSequenceAt,
      create(GetSequenceAtRequestSchema, { timestamp: BigInt(timestamp) }),
      options,
    );
    return Number(response.sequence);
  }

  /** Adds tags to a stored event. */
  async addTags(sequence: number, tags: readonly Tag[], options: DcbCallOptions = {}): Promise<void> {
    await this.#connection.rpc().unary(
      DcbEventStoreService.method.addTags,
      create(AddTagsRequestSchema, { sequence: BigInt(sequence), tag: tags.map(toWireTag) }),
      options,
    );
  }

  /** Removes tags from a stored event. */
  async removeTags(sequence: number, tags: readonly Tag[], options: DcbCallOptions = {}): Promise<void> {
    await this.#connection.rpc().unary(
      DcbEventStoreService.method.removeTags,
      create(RemoveTagsRequestSchema, { sequence: BigInt(sequence), tag: tags.map(toWireTag) }),
      options,
    );
  }

  /** The tags of a stored event. */
  async getTags(sequence: number, options: DcbCallOptions = {}): Promise<Tag[]> {
    const response = await this.#connection.rpc().unary(
      DcbEventStoreService.method.getTags,
      create(GetTagsRequestSchema, { sequence: BigInt(sequence) }),
      options,
    );
    return response.tag.map(fromWireTag);
  }
}
