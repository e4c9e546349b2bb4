/**
 * The EventStore port: aggregate streams with optimistic concurrency, snapshots, and the global stream with
 * tokens that tracking processors read. It works on serialized events, exactly as Axon Server keeps them, so the
 * same contract holds for the in-memory store, SQLite, soma in-process and the Axon Server connector.
 *
 * Token semantics follow Axon Server: every event has a global token; the first event stored gets token 0 and
 * tokens are contiguous. Aggregate sequence numbers start at 0 and are contiguous per aggregate.
 *
 * @module
 */
import { readyBatches, readyPages } from "../core/batches.ts";
import type { AggregateRef, Metadata } from "../core/message.ts";
import type { SerializedPayload } from "../core/registry.ts";

/**
 * An event as stored. Domain events (with `aggregate`) take part in sequence validation.
 *
 * @example
 * ```ts
 * import type { EventRecord } from "./event_store.ts";
 * const record: EventRecord = {
 *   id: crypto.randomUUID(),
 *   timestamp: Date.now(),
 *   payload: { type: "example.v1.GreetedEvent", revision: "", data: new Uint8Array() },
 *   metadata: { correlation_id: "c-1" },
 *   aggregate: { type: "Greeter", id: "main", sequence: 0 },
 * };
 * ```
 */
export interface EventRecord {
  /** The event's id (a UUID). */
  readonly id: string;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  /** The serialized payload. */
  readonly payload: SerializedPayload;
  /** The event's metadata. */
  readonly metadata: Metadata;
  /** The aggregate that raised it (domain events only). */
  readonly aggregate?: AggregateRef;
}

/**
 * An event read from an aggregate stream; `snapshot` marks a snapshot emitted ahead of the events.
 *
 * @example
 * ```ts
 * import { type AggregateEventRecord, InMemoryEventStore } from "../mod.ts";
 * const store = new InMemoryEventStore();
 * for await (const record of store.readAggregate("main", { allowSnapshots: true })) {
 *   const event: AggregateEventRecord = record;
 *   console.log(event.aggregate.sequence, event.snapshot ? "snapshot" : event.payload.type);
 * }
 * ```
 */
export interface AggregateEventRecord extends EventRecord {
  /** The aggregate the event belongs to. */
  readonly aggregate: AggregateRef;
  /** True for a snapshot emitted ahead of the events. */
  readonly snapshot?: boolean;
}

/**
 * An event read from the global stream, with its token.
 *
 * @example
 * ```ts
 * import { InMemoryEventStore, type TrackedEventRecord } from "../mod.ts";
 * const store = new InMemoryEventStore();
 * const events: TrackedEventRecord[] = [];
 * for await (const event of store.stream({ from: 0 })) events.push(event);
 * console.log(events.map((event) => event.token)); // [] for an empty store
 * ```
 */
export interface TrackedEventRecord extends EventRecord {
  /** The event's position in the global stream, from 0. */
  readonly token: number;
}

/**
 * What an append stored: the tokens of its first and last event, from stores that know them (the local stores
 * and soma in-process; -1 for an empty batch). Absent through Axon Server, which does not report the tokens it
 * assigned: ask {@link EventStore.lastToken} when you need an upper bound.
 *
 * @example
 * ```ts
 * import { type AppendResult, InMemoryEventStore } from "../mod.ts";
 * const store = new InMemoryEventStore();
 * const result: AppendResult = await store.append([{
 *   id: crypto.randomUUID(),
 *   timestamp: Date.now(),
 *   payload: { type: "example.v1.GreetedEvent", revision: "", data: new Uint8Array() },
 *   metadata: {},
 * }]);
 * console.log(result.firstToken, result.lastToken); // 0 0
 * ```
 */
export interface AppendResult {
  /** Token of the first event of the batch. */
  readonly firstToken?: number;
  /** Token of the last event of the batch. */
  readonly lastToken?: number;
}

/**
 * Options shared by every call: cancellation.
 *
 * @example
 * ```ts
 * import { type CallOptions, type EventStore, InMemoryEventStore } from "../mod.ts";
 * const store: EventStore = new InMemoryEventStore();
 * const options: CallOptions = { signal: AbortSignal.timeout(1_000) };
 * console.log(await store.lastToken(options)); // -1
 * ```
 */
export interface CallOptions {
  /** Cancels the call. */
  readonly signal?: AbortSignal;
}

/**
 * Options of {@link EventStore.readAggregate}.
 *
 * @example
 * ```ts
 * import { InMemoryEventStore, type ReadAggregateOptions } from "../mod.ts";
 * const options: ReadAggregateOptions = { fromSequence: 10, allowSnapshots: true };
 * for await (const event of new InMemoryEventStore().readAggregate("main", options)) {
 *   console.log(event.aggregate.sequence);
 * }
 * ```
 */
export interface ReadAggregateOptions extends CallOptions {
  /** First sequence number to read (default 0). */
  readonly fromSequence?: number;
  /** When true and a snapshot at or after `fromSequence` exists, the latest one comes first. */
  readonly allowSnapshots?: boolean;
}

/**
 * Options of {@link EventStore.stream}.
 *
 * @example
 * ```ts
 * import { InMemoryEventStore, type StreamOptions } from "../mod.ts";
 * // Follow the stream live from token 0 until the signal aborts.
 * const options: StreamOptions = { from: 0, follow: true, signal: AbortSignal.timeout(100) };
 * try {
 *   for await (const event of new InMemoryEventStore().stream(options)) console.log(event.token);
 * } catch (error) {
 *   if (!options.signal?.aborted) throw error;
 * }
 * ```
 */
export interface StreamOptions extends CallOptions {
  /** Token of the first event to read (inclusive). */
  readonly from: number;
  /** Keep the stream open and deliver new events as they are committed (default false: stop at the head). */
  readonly follow?: boolean;
}

/**
 * Options of {@link EventStore.streamPages}.
 *
 * @example
 * ```ts
 * import { type EventStore, InMemoryEventStore, type PageOptions } from "../mod.ts";
 * const store: EventStore = new InMemoryEventStore();
 * const options: PageOptions = { from: 0, pageSize: 256 };
 * for await (const page of store.streamPages?.(options) ?? []) console.log(page.length, page[0].token);
 * ```
 */
export interface PageOptions extends StreamOptions {
  /** The most events one page carries (default: the store's own page size). */
  readonly pageSize?: number;
}

/**
 * The event store port.
 *
 * @example
 * ```ts
 * import { InMemoryEventStore } from "./memory.ts";
 * import type { EventStore } from "./event_store.ts";
 * const store: EventStore = new InMemoryEventStore();
 * await store.append([{
 *   id: "e1",
 *   timestamp: Date.now(),
 *   payload: { type: "example.v1.GreetedEvent", revision: "", data: new Uint8Array() },
 *   metadata: {},
 *   aggregate: { type: "Greeter", id: "main", sequence: 0 },
 * }]);
 * for await (const event of store.stream({ from: 0 })) console.log(event.token, event.payload.type);
 * ```
 */
export interface EventStore {
  /**
   * Appends a batch atomically: all events or none. For each aggregate in the batch the sequence numbers must be
   * contiguous and the first must be the aggregate's highest stored sequence + 1 (0 for a new aggregate);
   * otherwise nothing is stored and a `ConcurrencyError` (AXONIQ-2000) is thrown.
   */
  append(events: readonly EventRecord[], options?: CallOptions): Promise<AppendResult>;

  /** Reads one aggregate's events in sequence order (optionally starting with its latest snapshot). */
  readAggregate(aggregateId: string, options?: ReadAggregateOptions): AsyncIterable<AggregateEventRecord>;

  /** The highest stored sequence number of an aggregate, -1 when it has none. */
  highestSequence(aggregateId: string, options?: CallOptions): Promise<number>;

  /** Stores a snapshot of an aggregate; its sequence must not exceed the aggregate's highest sequence. */
  appendSnapshot(
    snapshot: EventRecord & { readonly aggregate: AggregateRef },
    options?: CallOptions,
  ): Promise<void>;

  /** Snapshots of an aggregate, highest sequence first (at most `maxResults`, 0 = all). */
  readSnapshots(
    aggregateId: string,
    options?: CallOptions & { maxResults?: number; fromSequence?: number; maxSequence?: number },
  ): AsyncIterable<AggregateEventRecord>;

  /** The global stream from a token, optionally following live. */
  stream(options: StreamOptions): AsyncIterable<TrackedEventRecord>;

  /**
   * Optional: the same stream in pages of consecutive events, each read in one step (a page is never empty).
   * Stores that read in bulk implement it so that readers skip an async step per event; use
   * {@link streamPagesOf} to read any store this way.
   */
  streamPages?(options: PageOptions): AsyncIterable<readonly TrackedEventRecord[]>;

  /** Token of the first stored event; 0 for an empty store. */
  firstToken(options?: CallOptions): Promise<number>;

  /** Token of the last stored event; -1 for an empty store. */
  lastToken(options?: CallOptions): Promise<number>;

  /** Token of the first event with timestamp ≥ `timestamp`; last + 1 when all are older; first token when empty. */
  tokenAt(timestamp: number, options?: CallOptions): Promise<number>;
}

/** The page size of {@link EventStore.streamPages} when the reader names none. */
export const DEFAULT_PAGE_SIZE = 512;

/**
 * Reads the global stream of any store in pages of up to about `pageSize` events (default
 * {@link DEFAULT_PAGE_SIZE}): the store's own pages when it has them, pages that arrive back to back joined
 * (so a store with small pages still gives full ones during a catch-up), else its per-event stream grouped into
 * pages of the events that are ready. A page never waits to be filled: a live tail gets events as they come.
 */
export function streamPagesOf(
  store: EventStore,
  options: PageOptions,
): AsyncIterable<readonly TrackedEventRecord[]> {
  const size = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const pages = store.streamPages?.(options);
  return pages ? readyPages(pages, size) : readyBatches(store.stream(options), size);
}

/** The events of a paged stream one by one, for stores that implement `stream` on top of `streamPages`. */
export async function* eventsOf(
  pages: AsyncIterable<readonly TrackedEventRecord[]>,
  signal?: AbortSignal,
): AsyncIterable<TrackedEventRecord> {
  for await (const page of pages) {
    for (const record of page) {
      yield record;
      signal?.throwIfAborted();
    }
  }
}

/**
 * Checks a batch against the highest stored sequence of each aggregate. Shared by the adapters so they agree.
 * `highest` returns the aggregate's highest sequence before this batch (-1 when new).
 * Returns the error message, or undefined when the batch is valid.
 */
export function validateSequences(
  events: readonly EventRecord[],
  highest: (aggregateId: string) => number,
): string | undefined {
  const next = new Map<string, number>();
  for (const event of events) {
    if (!event.aggregate) continue;
    const { id, sequence } = event.aggregate;
    if (!Number.isSafeInteger(sequence) || sequence < 0) {
      return `Invalid sequence number ${sequence} for aggregate "${id}"`;
    }
    const expected = next.get(id) ?? highest(id) + 1;
    if (sequence !== expected) {
      return `Invalid sequence number ${sequence} for aggregate "${id}", expected ${expected}`;
    }
    next.set(id, expected + 1);
  }
  return undefined;
}
