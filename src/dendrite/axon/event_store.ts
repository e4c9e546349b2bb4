/**
 * The EventStore port on Axon Server: one `AppendEvent` stream per append (one transaction), aggregate reads
 * with snapshots, `ListEvents` with permits refilled as events are consumed, and the token calls.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  EventStore as EventStoreService,
  GetAggregateEventsRequestSchema,
  GetAggregateSnapshotsRequestSchema,
  GetEventsRequestSchema,
  GetFirstTokenRequestSchema,
  GetLastTokenRequestSchema,
  GetTokenAtRequestSchema,
  ReadHighestSequenceNrRequestSchema,
} from "../../gen/axon/event_pb.ts";
import type { AggregateRef } from "../core/message.ts";
import type {
  AggregateEventRecord,
  AppendResult,
  CallOptions,
  EventRecord,
  EventStore,
  ReadAggregateOptions,
  StreamOptions,
  TrackedEventRecord,
} from "../eventstore/event_store.ts";
import type { AxonConnection } from "./connection.ts";
import { fromAxonAggregateEvent, fromAxonEvent, toAxonEvent } from "./protocol/messages.ts";

export interface AxonEventStoreOptions {
  /** Permits per `ListEvents` stream (default 1,000), refilled by half as events are consumed. */
  readonly permits?: number;
  /** Processor name reported to the server on `ListEvents`. */
  readonly processor?: string;
}

/**
 * Events through Axon Server.
 *
 * @example
 * ```ts
 * import { AxonEventStore } from "./event_store.ts";
 * import { AxonConnection } from "./connection.ts";
 * const connection = await AxonConnection.connect({ address: "localhost:8124", componentName: "greeter" });
 * const eventStore = new AxonEventStore(connection);
 * console.log(await eventStore.lastToken());
 * ```
 */
export class AxonEventStore implements EventStore {
  readonly #connection: AxonConnection;
  readonly #permits: number;
  readonly #processor: string;

  /** The event store of the server behind `connection`. */
  constructor(connection: AxonConnection, options: AxonEventStoreOptions = {}) {
    this.#connection = connection;
    this.#permits = Math.max(64, options.permits ?? 1_000);
    this.#processor = options.processor ?? "";
  }

  /** Appends the events in one transaction; see {@link EventStore.append}. */
  async append(events: readonly EventRecord[], options: CallOptions = {}): Promise<AppendResult> {
    if (events.length === 0) return {};
    await this.#connection.rpc().clientStream(
      EventStoreService.method.appendEvent,
      events.map((e) => toAxonEvent(e)),
      { signal: options.signal, timeoutMs: 10_000 },
    );
    // Axon Server does not say which tokens it assigned.
    return {};
  }

  /** Reads an aggregate's events (after its latest snapshot, when asked); see {@link EventStore.readAggregate}. */
  async *readAggregate(
    aggregateId: string,
    options: ReadAggregateOptions = {},
  ): AsyncIterable<AggregateEventRecord> {
    const request = create(GetAggregateEventsRequestSchema, {
      aggregateId,
      initialSequence: BigInt(options.fromSequence ?? 0),
      allowSnapshots: options.allowSnapshots ?? false,
    });
    for await (
      const event of this.#connection.rpc().serverStream(
        EventStoreService.method.listAggregateEvents,
        request,
        {
          signal: options.signal,
        },
      )
    ) {
      yield fromAxonAggregateEvent(event);
    }
  }

  /** The aggregate's last sequence number, -1 when it has no events. */
  async highestSequence(aggregateId: string, options: CallOptions = {}): Promise<number> {
    const response = await this.#connection.rpc().unary(
      EventStoreService.method.readHighestSequenceNr,
      create(ReadHighestSequenceNrRequestSchema, { aggregateId }),
      { signal: options.signal },
    );
    return Number(response.toSequenceNr);
  }

  /** Stores a snapshot of an aggregate. */
  async appendSnapshot(
    snapshot: EventRecord & { readonly aggregate: AggregateRef },
    options: CallOptions = {},
  ): Promise<void> {
    await this.#connection.rpc().unary(EventStoreService.method.appendSnapshot, toAxonEvent(snapshot, true), {
      signal: options.signal,
    });
  }

  /** Reads an aggregate's snapshots, latest first. */
  async *readSnapshots(
    aggregateId: string,
    options: CallOptions & { maxResults?: number; fromSequence?: number; maxSequence?: number } = {},
  ): AsyncIterable<AggregateEventRecord> {
    const request = create(GetAggregateSnapshotsRequestSchema, {
      aggregateId,
      initialSequence: BigInt(options.fromSequence ?? 0),
      maxSequence: BigInt(options.maxSequence ?? Number.MAX_SAFE_INTEGER),
      maxResults: options.maxResults ?? 0,
    });
    for await (
      const event of this.#connection.rpc().serverStream(
        EventStoreService.method.listAggregateSnapshots,
        request,
        {
          signal: options.signal,
        },
      )
    ) {
      yield { ...fromAxonAggregateEvent(event), snapshot: true };
    }
  }

  /** The global event stream from a token, live when `follow` is set; see {@link EventStore.stream}. */
  async *stream(options: StreamOptions): AsyncIterable<TrackedEventRecord> {
    const from = Math.max(0, options.from);
    const head = options.follow ? Infinity : await this.lastToken(options);
    if (from > head) return;
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const stream = this.#connection.rpc().bidi(EventStoreService.method.listEvents, { signal });
    stream.send(create(GetEventsRequestSchema, {
      trackingToken: BigInt(from),
      numberOfPermits: BigInt(this.#permits),
      clientId: this.#connection.clientId,
      componentName: this.#connection.options.componentName,
      processor: this.#processor,
    }));
    const refill = Math.floor(this.#permits / 2);
    let consumed = 0;
    try {
      for await (const item of stream.responses) {
        if (!item.event) continue;
        yield { ...fromAxonEvent(item.event), token: Number(item.token) };
        if (Number(item.token) >= head) return;
        if (++consumed >= refill) {
          consumed = 0;
          stream.send(create(GetEventsRequestSchema, { numberOfPermits: BigInt(refill) }));
        }
      }
    } finally {
      controller.abort();
      stream.cancel();
    }
  }

  /** The token of the first event (0 for an empty store). */
  async firstToken(options: CallOptions = {}): Promise<number> {
    const token = await this.#connection.rpc().unary(
      EventStoreService.method.getFirstToken,
      create(GetFirstTokenRequestSchema),
      { signal: options.signal },
    );
    return Number(token.token);
  }

  /** The token of the last event, -1 for an empty store. */
  async lastToken(options: CallOptions = {}): Promise<number> {
    const token = await this.#connection.rpc().unary(
      EventStoreService.method.getLastToken,
      create(GetLastTokenRequestSchema),
      { signal: options.signal },
    );
    return Number(token.token);
  }

  /** The token of the first event at or after `timestamp` (epoch ms). */
  async tokenAt(timestamp: number, options: CallOptions = {}): Promise<number> {
    const token = await this.#connection.rpc().unary(
      EventStoreService.method.getTokenAt,
      create(GetTokenAtRequestSchema, { instant: BigInt(timestamp) }),
      { signal: options.signal },
    );
    return Number(token.token);
  }
}
