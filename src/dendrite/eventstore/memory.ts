/**
 * In-memory EventStore: for unit tests and examples. Same contract as the durable adapters.
 *
 * @module
 */
import { Notifier } from "../core/async.ts";
import { ConcurrencyError } from "../core/errors.ts";
import type { AggregateRef } from "../core/message.ts";
import {
  type AggregateEventRecord,
  type AppendResult,
  type CallOptions,
  DEFAULT_PAGE_SIZE,
  type EventRecord,
  eventsOf,
  type EventStore,
  type PageOptions,
  type ReadAggregateOptions,
  type StreamOptions,
  type TrackedEventRecord,
  validateSequences,
} from "./event_store.ts";
import {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  DuplicateCommandError,
  type IdempotentOutcome,
  takeIdempotencyKeys,
} from "./idempotency.ts";

/**
 * An EventStore kept in memory.
 *
 * @example
 * ```ts
 * import { InMemoryEventStore } from "./memory.ts";
 * const store = new InMemoryEventStore();
 * console.log(await store.lastToken()); // -1
 * ```
 */
export class InMemoryEventStore implements EventStore {
  readonly #keys = new Map<string, IdempotentOutcome & { readonly storedAt: number }>();
  readonly #idempotencyWindowMs: number;
  readonly #clock: () => number;
  readonly #events: TrackedEventRecord[] = [];
  readonly #byAggregate = new Map<string, TrackedEventRecord[]>();
  readonly #snapshots = new Map<string, AggregateEventRecord[]>();
  readonly #notifier = new Notifier();

  /** `idempotencyWindowMs`: how long a key is remembered (24 h); `clock`: what dates keys (`Date.now`). */
  constructor(options: { readonly idempotencyWindowMs?: number; readonly clock?: () => number } = {}) {
    this.#idempotencyWindowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
    this.#clock = options.clock ?? Date.now;
  }

  /** Appends the batch atomically; see {@link EventStore.append}. */
  append(batch: readonly EventRecord[], options?: CallOptions): Promise<Required<AppendResult>> {
    options?.signal?.throwIfAborted();
    const { events, outcomes } = takeIdempotencyKeys(batch);
    const now = this.#clock();
    // keys are kept in the order they were stored: the expired ones come first
    for (const [key, kept] of this.#keys) {
      if (kept.storedAt > now - this.#idempotencyWindowMs) break;
      this.#keys.delete(key);
    }
    const seen = outcomes.map((outcome) => this.#keys.get(outcome.key)).find((kept) => kept !== undefined);
    if (seen) {
      const { storedAt: _, ...outcome } = seen;
      return Promise.reject(new DuplicateCommandError(outcome));
    }
    const error = validateSequences(events, (id) => this.#highest(id));
    if (error) return Promise.reject(new ConcurrencyError(error));
    if (events.length === 0) return Promise.resolve({ firstToken: -1, lastToken: -1 });
    for (const outcome of outcomes) this.#keys.set(outcome.key, { ...outcome, storedAt: now });
    const firstToken = this.#events.length;
    for (const event of events) {
      const tracked: TrackedEventRecord = { ...event, token: this.#events.length };
      this.#events.push(tracked);
      if (event.aggregate) {
        const list = this.#byAggregate.get(event.aggregate.id) ?? [];
        list.push(tracked);
        this.#byAggregate.set(event.aggregate.id, list);
      }
    }
    this.#notifier.notify();
    return Promise.resolve({ firstToken, lastToken: this.#events.length - 1 });
  }

  /** Reads an aggregate's events; see {@link EventStore.readAggregate}. */
  async *readAggregate(
    aggregateId: string,
    options: ReadAggregateOptions = {},
  ): AsyncIterable<AggregateEventRecord> {
    const from = options.fromSequence ?? 0;
    let after = from - 1;
    if (options.allowSnapshots) {
      const snapshot = (this.#snapshots.get(aggregateId) ?? []).findLast((s) => s.aggregate.sequence >= from);
      if (snapshot) {
        yield snapshot;
        after = snapshot.aggregate.sequence;
      }
    }
    for (const event of this.#byAggregate.get(aggregateId) ?? []) {
      options.signal?.throwIfAborted();
      if (event.aggregate!.sequence > after) yield event as AggregateEventRecord;
    }
  }

  /** The aggregate's last sequence number, -1 when it has no events. */
  highestSequence(aggregateId: string): Promise<number> {
    return Promise.resolve(this.#highest(aggregateId));
  }

  /** Stores a snapshot of an aggregate. */
  appendSnapshot(snapshot: EventRecord & { readonly aggregate: AggregateRef }): Promise<void> {
    const highest = this.#highest(snapshot.aggregate.id);
    if (snapshot.aggregate.sequence > highest) {
      return Promise.reject(
        new ConcurrencyError(
          `Snapshot sequence ${snapshot.aggregate.sequence} is beyond the highest event ${highest} of "${snapshot.aggregate.id}"`,
        ),
      );
    }
    const list = (this.#snapshots.get(snapshot.aggregate.id) ?? [])
      .filter((s) => s.aggregate.sequence !== snapshot.aggregate.sequence);
    list.push({ ...snapshot, snapshot: true });
    list.sort((a, b) => a.aggregate.sequence - b.aggregate.sequence);
    this.#snapshots.set(snapshot.aggregate.id, list);
    return Promise.resolve();
  }

  /** Reads an aggregate's snapshots, latest first. */
  async *readSnapshots(
    aggregateId: string,
    options: CallOptions & { maxResults?: number; fromSequence?: number; maxSequence?: number } = {},
  ): AsyncIterable<AggregateEventRecord> {
    const max = options.maxSequence ?? Number.MAX_SAFE_INTEGER;
    const list = (this.#snapshots.get(aggregateId) ?? [])
      .filter((s) => s.aggregate.sequence >= (options.fromSequence ?? 0) && s.aggregate.sequence <= max)
      .reverse();
    yield* options.maxResults ? list.slice(0, options.maxResults) : list;
  }

  /** The global event stream from a token; see {@link EventStore.stream}. */
  stream(options: StreamOptions): AsyncIterable<TrackedEventRecord> {
    return eventsOf(this.streamPages(options), options.signal);
  }

  /** The global event stream in pages; see {@link EventStore.streamPages}. */
  async *streamPages(options: PageOptions): AsyncIterable<readonly TrackedEventRecord[]> {
    const size = Math.max(1, options.pageSize ?? DEFAULT_PAGE_SIZE);
    let next = Math.max(0, options.from);
    while (true) {
      options.signal?.throwIfAborted();
      if (next < this.#events.length) {
        const page = this.#events.slice(next, next + size);
        next += page.length;
        yield page;
        continue;
      }
      if (!options.follow) return;
      await this.#notifier.wait(options.signal);
    }
  }

  /** The token of the first event (0 for an empty store). */
  firstToken(): Promise<number> {
    return Promise.resolve(0);
  }

  /** The token of the last event, -1 for an empty store. */
  lastToken(): Promise<number> {
    return Promise.resolve(this.#events.length - 1);
  }

  /** The token of the first event at or after `timestamp` (epoch ms). */
  tokenAt(timestamp: number): Promise<number> {
    if (this.#events.length === 0) return Promise.resolve(0);
    const index = this.#events.findIndex((e) => e.timestamp >= timestamp);
    return Promise.resolve(index === -1 ? this.#events.length : index);
  }

  #highest(aggregateId: string): number {
    const list = this.#byAggregate.get(aggregateId);
    return list ? list[list.length - 1].aggregate!.sequence : -1;
  }
}
