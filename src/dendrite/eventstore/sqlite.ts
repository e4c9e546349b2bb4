/**
 * SQLite EventStore (`node:sqlite`, WAL). One table of events keyed by global token, a unique index on
 * (aggregate id, sequence) as the last line of defence for optimistic concurrency, and a snapshot table.
 *
 * Appends are group-committed: appends that arrive in the same turn of the event loop share one transaction
 * (one fsync at `synchronous=FULL`), each inside its own savepoint, so one failing batch never affects another
 * and a failed batch leaves nothing behind.
 *
 * Idempotency keys (see `idempotency.ts`) live in their own table, written in the savepoint of their events and
 * forgotten after the configured window.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { Notifier } from "../core/async.ts";
import { ConcurrencyError } from "../core/errors.ts";
import type { AggregateRef } from "../core/message.ts";
import { type OpenOptions, Sqlite } from "../sqlite/database.ts";
import {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  DuplicateCommandError,
  type IdempotentOutcome,
  takeIdempotencyKeys,
} from "./idempotency.ts";
import { encodeMetadata, eventFromRow, type EventRow, trackedEventFromRow } from "./sqlite_rows.ts";
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  token INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  aggregate_id TEXT,
  aggregate_type TEXT,
  seq INTEGER,
  timestamp INTEGER NOT NULL,
  payload_type TEXT NOT NULL,
  payload_revision TEXT NOT NULL,
  payload BLOB NOT NULL,
  metadata TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS events_aggregate ON events (aggregate_id, seq) WHERE aggregate_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS snapshots (
  aggregate_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  aggregate_type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  payload_type TEXT NOT NULL,
  payload_revision TEXT NOT NULL,
  payload BLOB NOT NULL,
  metadata TEXT,
  PRIMARY KEY (aggregate_id, seq)
);
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  aggregate_id TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  stored_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (stored_at);
`;

const COLUMNS =
  "token, event_id, aggregate_id, aggregate_type, seq, timestamp, payload_type, payload_revision, " +
  "payload, metadata";

/** A write waiting for the next group commit: events, or a snapshot (which then costs no commit of its own). */
type PendingAppend =
  | {
    readonly events: readonly EventRecord[];
    readonly resolve: (result: Required<AppendResult>) => void;
    readonly reject: (error: unknown) => void;
  }
  | {
    readonly snapshot: EventRecord & { readonly aggregate: AggregateRef };
    readonly resolve: () => void;
    readonly reject: (error: unknown) => void;
  };

const PAGE = 512;

/** Options of {@link SqliteEventStore}. */
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
  #pending: PendingAppend[] = [];
  #flushScheduled = false;
  #closed = false;
  readonly #pollIntervalMs: number;
  readonly #idempotencyWindowMs: number;
  readonly #clock: () => number;
  #purgedAt = 0;

  /** Opens (or creates) the store in `options.path`. */
  constructor(options: SqliteEventStoreOptions) {
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#idempotencyWindowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
    this.#clock = options.clock ?? Date.now;
    this.#sql = new Sqlite(options.path, options);
    this.#sql.db.exec(SCHEMA);
  }

  /** Appends the batch in one transaction (grouped with concurrent appends); see {@link EventStore.append}. */
  append(events: readonly EventRecord[], options?: CallOptions): Promise<Required<AppendResult>> {
    if (this.#closed) return Promise.reject(new Error("The event store is closed"));
    options?.signal?.throwIfAborted();
    if (events.length === 0) return Promise.resolve({ firstToken: -1, lastToken: -1 });
    return new Promise((resolve, reject) => this.#enqueue({ events, resolve, reject }));
  }

  #enqueue(item: PendingAppend): void {
    this.#pending.push(item);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const outcomes: (() => void)[] = [];
    const db = this.#sql.db;
    try {
      db.exec("BEGIN IMMEDIATE");
      this.#purgeKeys();
      for (const item of batch) {
        db.exec("SAVEPOINT append");
        try {
          if ("snapshot" in item) {
            this.#insertSnapshot(item.snapshot);
            db.exec("RELEASE append");
            outcomes.push(() => item.resolve());
          } else {
            const result = this.#insert(item.events);
            db.exec("RELEASE append");
            outcomes.push(() => item.resolve(result));
          }
        } catch (error) {
          db.exec("ROLLBACK TO append");
          db.exec("RELEASE append");
          outcomes.push(() => item.reject(error));
        }
      }
      db.exec("COMMIT");
    } catch (error) {
      if (db.isOpen && db.isTransaction) db.exec("ROLLBACK");
      for (const item of batch) item.reject(error);
      return;
    }
    for (const settle of outcomes) settle();
    this.#commits++;
    this.#notifier.notify();
  }

  #insert(batch: readonly EventRecord[]): Required<AppendResult> {
    const { events, outcomes } = takeIdempotencyKeys(batch);
    this.#rememberKeys(outcomes);
    const error = validateSequences(events, (id) => this.#highest(id));
    if (error) throw new ConcurrencyError(error);
    const next =
      this.#sql.get<{ next: number }>("SELECT IFNULL(MAX(token), -1) + 1 AS next FROM events")!.next;
    const insert = this.#sql.statement(
      `INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    let token = next;
    for (const event of events) {
      try {
        insert.run(
          token++,
          event.id,
          event.aggregate?.id ?? null,
          event.aggregate?.type ?? null,
          event.aggregate?.sequence ?? null,
          event.timestamp,
          event.payload.type,
          event.payload.revision,
          event.payload.data,
          encodeMetadata(event.metadata),
        );
      } catch (cause) {
        if (String(cause).includes("UNIQUE")) {
          throw new ConcurrencyError(
            `Sequence ${event.aggregate?.sequence} of "${event.aggregate?.id}" is taken`,
            {
              cause,
            },
          );
        }
        throw cause;
      }
    }
    return { firstToken: next, lastToken: token - 1 };
  }

  /** Stores the keys of a batch, or throws {@link DuplicateCommandError} for one still remembered. */
  #rememberKeys(outcomes: readonly IdempotentOutcome[]): void {
    if (outcomes.length === 0) return;
    const now = this.#clock();
    for (const outcome of outcomes) {
      const row = this.#sql.get<{ aggregate_id: string; first_seq: number; last_seq: number }>(
        "SELECT aggregate_id, first_seq, last_seq FROM idempotency WHERE key = ? AND stored_at > ?",
        outcome.key,
        now - this.#idempotencyWindowMs,
      );
      if (row) {
        throw new DuplicateCommandError({
          key: outcome.key,
          aggregateId: row.aggregate_id,
          firstSequence: row.first_seq,
          lastSequence: row.last_seq,
        });
      }
      this.#sql.statement(
        "INSERT OR REPLACE INTO idempotency (key, aggregate_id, first_seq, last_seq, stored_at) VALUES (?, ?, ?, ?, ?)",
      ).run(outcome.key, outcome.aggregateId, outcome.firstSequence, outcome.lastSequence, now);
    }
  }

  /** Forgets expired keys, at most once a minute (inside the append transaction). */
  #purgeKeys(): void {
    const now = this.#clock();
    if (now - this.#purgedAt < 60_000) return;
    this.#purgedAt = now;
    this.#sql.statement("DELETE FROM idempotency WHERE stored_at <= ?").run(now - this.#idempotencyWindowMs);
  }

  #highest(aggregateId: string): number {
    return this.#sql.get<{ seq: number | null }>(
      "SELECT MAX(seq) AS seq FROM events WHERE aggregate_id = ?",
      aggregateId,
    )?.seq ?? -1;
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
    return Promise.resolve(this.#highest(aggregateId));
  }

  /** Stores a snapshot of an aggregate, in the next group commit (a snapshot costs no commit of its own). */
  appendSnapshot(
    snapshot: EventRecord & { readonly aggregate: AggregateRef },
    options?: CallOptions,
  ): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The event store is closed"));
    options?.signal?.throwIfAborted();
    return new Promise((resolve, reject) => this.#enqueue({ snapshot, resolve, reject }));
  }

  #insertSnapshot(snapshot: EventRecord & { readonly aggregate: AggregateRef }): void {
    const highest = this.#highest(snapshot.aggregate.id);
    if (snapshot.aggregate.sequence > highest) {
      throw new ConcurrencyError(
        `Snapshot sequence ${snapshot.aggregate.sequence} is beyond the highest event ${highest} of "${snapshot.aggregate.id}"`,
      );
    }
    this.#sql.run(
      `INSERT OR REPLACE INTO snapshots (aggregate_id, seq, aggregate_type, event_id, timestamp, payload_type,
       payload_revision, payload, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      snapshot.aggregate.id,
      snapshot.aggregate.sequence,
      snapshot.aggregate.type,
      snapshot.id,
      snapshot.timestamp,
      snapshot.payload.type,
      snapshot.payload.revision,
      snapshot.payload.data,
      encodeMetadata(snapshot.metadata),
    );
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
      await this.#waitForNews(options.signal);
    }
  }

  /** Up to `limit` events from token `from` (inclusive). Empty at the head or once closed. */
  #readPage(from: number, limit: number): TrackedEventRecord[] {
    if (this.#closed) return [];
    return this.#sql.all<EventRow>(
      `SELECT ${COLUMNS} FROM events WHERE token >= ? ORDER BY token LIMIT ?`,
      from,
      limit,
    ).map(trackedEventFromRow);
  }

  /** Resolves after the next in-process append, or at most the poll interval (appends by other processes). */
  async #waitForNews(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
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

  /** The token of the last event, -1 for an empty store. */
  lastToken(): Promise<number> {
    return Promise.resolve(
      this.#sql.get<{ t: number | null }>("SELECT MAX(token) AS t FROM events")?.t ?? -1,
    );
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
    this.#flush();
    this.#closed = true;
    this.#notifier.notify();
    this.#sql.close();
  }

  /** Closes the store (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

const SNAPSHOT_COLUMNS =
  "event_id, aggregate_id, aggregate_type, seq, timestamp, payload_type, payload_revision, " +
  "payload, metadata";
