/**
 * SQLite EventStore (`node:sqlite`, WAL). One table of events keyed by global token, a unique index on
 * (aggregate id, sequence) as the last line of defence for optimistic concurrency, and a snapshot table.
 *
 * Appends are group-committed (`sqlite_append.ts`); the tables are in `sqlite_schema.ts`. This file is the store
 * itself and its read side: aggregates, snapshots, the global stream (woken by this object's commits, polling for
 * other writers) and tokens.
 *
 * @module
 */
import { Notifier } from "../core/async.ts";
import type { AggregateRef } from "../core/message.ts";
import { type OpenOptions, Sqlite } from "../sqlite/database.ts";
import type { DurableHead } from "./durable_head.ts";
import { DEFAULT_IDEMPOTENCY_WINDOW_MS } from "./idempotency.ts";
import { DEFAULT_RECENT_EVENTS, RecentEvents, type RecentEventsLimits } from "./recent_events.ts";
import { GroupCommit } from "./sqlite_append.ts";
import { WalSync } from "./wal_sync.ts";
import { eventFromRow, type EventRow, trackedEventFromRow } from "./sqlite_rows.ts";
import { COLUMNS, highestSequence, SCHEMA, SNAPSHOT_COLUMNS } from "./sqlite_schema.ts";
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
} from "./event_store.ts";

const PAGE = 512;

/**
 * Options of {@link SqliteEventStore}.
 *
 * @example
 * ```ts
 * import { SqliteEventStore, type SqliteEventStoreOptions } from "./sqlite.ts";
 * const options: SqliteEventStoreOptions = { path: ":memory:", pollIntervalMs: 100, synchronous: "FULL" };
 * const store = new SqliteEventStore(options);
 * store.close();
 * ```
 */
export interface SqliteEventStoreOptions extends OpenOptions {
  /** The database file; `:memory:` for a throw-away store. */
  readonly path: string;
  /**
   * A live `stream({ follow: true })` wakes at once on appends made through this store object; appends made by
   * other processes (or other store objects) on the same file are found by re-querying after this many
   * milliseconds without news (default 250; 0 turns polling off).
   */
  readonly pollIntervalMs?: number;
  /** How long an idempotency key is remembered (default {@link DEFAULT_IDEMPOTENCY_WINDOW_MS}, 24 h). */
  readonly idempotencyWindowMs?: number;
  /** The clock that dates idempotency keys (default `Date.now`; tests pass their own). */
  readonly clock?: () => number;
  /**
   * How many of the events last committed through this object are kept in memory for the stream's readers
   * (default {@link DEFAULT_RECENT_EVENTS}: 4,096 events or 8 MiB of payloads). Every live reader near the head
   * then shares one decoded copy instead of reading the rows back; `{ maxEvents: 0, maxBytes: 0 }` keeps none.
   */
  readonly recentEvents?: RecentEventsLimits;
  /**
   * Shares this store's durable head with other threads: the token of its last durable event is published here
   * at open and after every commit (see {@link DurableHead}).
   */
  readonly publishHead?: DurableHead;
  /**
   * Reads the file only up to this head, published by the thread that appends to it (a reader in a worker): the
   * stream stops there and follows it as it moves, instead of polling.
   */
  readonly readUpTo?: DurableHead;
}

/**
 * The durable event store.
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from "./sqlite.ts";
 * const store = new SqliteEventStore({ path: ":memory:" });
 * console.log(await store.lastToken()); // -1
 * store.close();
 * ```
 */
export class SqliteEventStore implements EventStore, AsyncDisposable {
  readonly #sql: Sqlite;
  readonly #notifier = new Notifier();
  /** Appends committed through this object (a reader compares it to catch a commit made while it was busy). */
  #commits = 0;
  readonly #writer: GroupCommit;
  readonly #recent: RecentEvents;
  #closed = false;
  readonly #pollIntervalMs: number;
  readonly #readUpTo: DurableHead | undefined;

  /** Opens (or creates) the store in `options.path`. */
  constructor(options: SqliteEventStoreOptions) {
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#readUpTo = options.readUpTo;
    const publish = options.publishHead;
    // FULL durability without blocking the event loop: SQLite commits at NORMAL, the log is synced off the loop and
    // only then are the appends confirmed and their events shown (`wal_sync.ts`).
    const full = options.synchronous !== "NORMAL";
    this.#sql = new Sqlite(options.path, { ...options, synchronous: "NORMAL" });
    this.#sql.db.exec(SCHEMA);
    const wal = this.#sql.get<{ journal_mode: string }>("PRAGMA journal_mode")?.journal_mode === "wal";
    // Without a write-ahead log (an in-memory store, a file system without WAL) there is no log to sync apart.
    if (full && !wal) this.#sql.db.exec("PRAGMA synchronous = FULL");
    this.#recent = new RecentEvents(options.recentEvents ?? DEFAULT_RECENT_EVENTS);
    this.#writer = new GroupCommit(this.#sql, {
      idempotencyWindowMs: options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS,
      clock: options.clock ?? Date.now,
      committed: (events) => {
        // A commit of snapshots only changes nothing a stream reader sees: no wake-up for it.
        if (events.length === 0) return;
        this.#recent.committed(events);
        this.#commits++;
        this.#notifier.notify();
        publish?.publish(events[events.length - 1].token);
      },
      sync: full && wal ? new WalSync(options.path) : undefined,
    });
    publish?.publish(this.#fileHead());
  }

  /** Appends the batch in one transaction (grouped with concurrent appends); see {@link EventStore.append}. */
  append(events: readonly EventRecord[], options?: CallOptions): Promise<Required<AppendResult>> {
    if (this.#closed) return Promise.reject(new Error("The event store is closed"));
    options?.signal?.throwIfAborted();
    if (events.length === 0) return Promise.resolve({ firstToken: -1, lastToken: -1 });
    return this.#writer.append(events);
  }

  /** Reads an aggregate's events; see {@link EventStore.readAggregate}. */
  async *readAggregate(
    aggregateId: string,
    options: ReadAggregateOptions = {},
  ): AsyncIterable<AggregateEventRecord> {
    let after = (options.fromSequence ?? 0) - 1;
    if (options.allowSnapshots) {
      const row = this.#sql.get<EventRow>(
        `SELECT seq AS token, ${SNAPSHOT_COLUMNS} FROM snapshots WHERE aggregate_id = ? AND seq > ?
         ORDER BY seq DESC LIMIT 1`,
        aggregateId,
        after,
      );
      if (row) {
        yield { ...eventFromRow(row), snapshot: true } as AggregateEventRecord;
        after = row.seq!;
      }
    }
    while (true) {
      options.signal?.throwIfAborted();
      const rows = this.#sql.all<EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE aggregate_id = ? AND seq > ? ORDER BY seq LIMIT ${PAGE}`,
        aggregateId,
        after,
      );
      for (const row of rows) yield eventFromRow(row) as AggregateEventRecord;
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1].seq!;
    }
  }

  /** The aggregate's last sequence number, -1 when it has no events. */
  highestSequence(aggregateId: string): Promise<number> {
    return Promise.resolve(highestSequence(this.#sql, aggregateId));
  }

  /** Stores a snapshot of an aggregate, in the next group commit (a snapshot costs no commit of its own). */
  appendSnapshot(
    snapshot: EventRecord & { readonly aggregate: AggregateRef },
    options?: CallOptions,
  ): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The event store is closed"));
    options?.signal?.throwIfAborted();
    return this.#writer.appendSnapshot(snapshot);
  }

  /** Reads an aggregate's snapshots, latest first. */
  async *readSnapshots(
    aggregateId: string,
    options: CallOptions & { maxResults?: number; fromSequence?: number; maxSequence?: number } = {},
  ): AsyncIterable<AggregateEventRecord> {
    const rows = this.#sql.all<EventRow>(
      `SELECT seq AS token, ${SNAPSHOT_COLUMNS} FROM snapshots WHERE aggregate_id = ? AND seq >= ? AND seq <= ?
       ORDER BY seq DESC LIMIT ?`,
      aggregateId,
      options.fromSequence ?? 0,
      options.maxSequence ?? Number.MAX_SAFE_INTEGER,
      options.maxResults ? options.maxResults : -1,
    );
    for (const row of rows) yield { ...eventFromRow(row), snapshot: true } as AggregateEventRecord;
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
      if (this.#closed) return;
      const commits = this.#commits;
      const page = this.#readPage(next, size);
      if (page.length > 0) {
        yield page;
        next = page[page.length - 1].token + 1;
        if (page.length === size) continue;
      }
      if (!options.follow) return;
      // An append committed while the page was read or handled would not wake the wait below.
      if (this.#commits !== commits) continue;
      await this.#waitForNews(next, options.signal);
    }
  }

  /**
   * Up to `limit` events from token `from` (inclusive): from the events this object committed last when `from`
   * lies among them, else from the file. Empty at the head or once closed.
   */
  #readPage(from: number, limit: number): readonly TrackedEventRecord[] {
    if (this.#closed) return [];
    const recent = this.#recent.read(from, limit);
    if (recent) return recent;
    // Not past what this object committed and has not yet confirmed (durable) to its appenders, nor past the
    // durable head another thread published.
    const before = Math.min(this.#writer.pendingFrom ?? Number.MAX_SAFE_INTEGER, this.#bound());
    const page = this.#sql.all<EventRow>(
      `SELECT ${COLUMNS} FROM events WHERE token >= ? AND token < ? ORDER BY token LIMIT ?`,
      from,
      before,
      limit,
    ).map(trackedEventFromRow);
    // A reader of another thread's appends keeps what it read near the head for its other readers (segments).
    if (this.#readUpTo) this.#recent.readThrough(page);
    return page;
  }

  /**
   * Resolves once the head published by another thread reaches token `next`; else after the next in-process
   * append, or at most the poll interval (appends by other processes).
   */
  async #waitForNews(next: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.#readUpTo) return void await this.#readUpTo.waitBeyond(next - 1, signal);
    if (this.#pollIntervalMs <= 0) return await this.#notifier.wait(signal);
    const poll = new AbortController();
    const timer = setTimeout(() => poll.abort(), this.#pollIntervalMs);
    const onAbort = () => poll.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await this.#notifier.wait(poll.signal);
    } catch (error) {
      signal?.throwIfAborted();
      if (!poll.signal.aborted) throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** The token of the first event (0 for an empty store). */
  firstToken(): Promise<number> {
    return Promise.resolve(this.#sql.get<{ t: number | null }>("SELECT MIN(token) AS t FROM events")?.t ?? 0);
  }

  /** The token of the last event (confirmed, when this object appended it), -1 for an empty store. */
  lastToken(): Promise<number> {
    const last = this.#fileHead();
    const pending = this.#writer.pendingFrom;
    return Promise.resolve(
      Math.min(pending === undefined ? last : Math.min(last, pending - 1), this.#bound() - 1),
    );
  }

  /** The last token in the file, -1 when empty. */
  #fileHead(): number {
    return this.#sql.get<{ t: number | null }>("SELECT MAX(token) AS t FROM events")?.t ?? -1;
  }

  /** The first token a reader must not read yet: past the published durable head (none: unbounded). */
  #bound(): number {
    return this.#readUpTo ? this.#readUpTo.get() + 1 : Number.MAX_SAFE_INTEGER;
  }

  /** The token of the first event at or after `timestamp` (epoch ms). */
  tokenAt(timestamp: number): Promise<number> {
    const found = this.#sql.get<{ t: number | null }>(
      "SELECT MIN(token) AS t FROM events WHERE timestamp >= ?",
      timestamp,
    )?.t;
    if (found !== null && found !== undefined) return Promise.resolve(found);
    const last = this.#sql.get<{ t: number | null }>("SELECT MAX(token) AS t FROM events")?.t;
    return Promise.resolve(last === null || last === undefined ? 0 : last + 1);
  }

  /** Finishes pending appends, wakes live readers (they end) and closes the database. */
  close(): void {
    if (this.#closed) return;
    this.#writer.close();
    this.#closed = true;
    this.#recent.clear();
    this.#notifier.notify();
    this.#sql.close();
  }

  /** Closes the store (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
