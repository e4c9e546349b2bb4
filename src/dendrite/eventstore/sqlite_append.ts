/**
 * The SQLite event store's write side. Appends are group-committed: appends that arrive in the same turn of the
 * event loop share one transaction (one fsync), each inside its own savepoint, so one failing batch never affects
 * another and a failed batch leaves nothing behind. A transaction is confirmed once durable (`wal_sync.ts`: the
 * fsync runs off the event loop, and transactions committed meanwhile share the next one). A snapshot joins the
 * next commit of appends (or is committed alone after 50 ms without one). Idempotency keys (see `idempotency.ts`)
 * are written in the savepoint of their events and forgotten after the configured window.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { ConcurrencyError } from "../core/errors.ts";
import type { AggregateRef } from "../core/message.ts";
import type { Sqlite } from "../sqlite/database.ts";
import {
  type AppendResult,
  type EventRecord,
  type TrackedEventRecord,
  validateSequences,
} from "./event_store.ts";
import { DuplicateCommandError, type IdempotentOutcome, takeIdempotencyKeys } from "./idempotency.ts";
import { encodeMetadata, storedEvent } from "./sqlite_rows.ts";
import { COLUMNS, highestSequence } from "./sqlite_schema.ts";
import { CommitConfirmations, type CommitSync } from "./wal_sync.ts";

/** How long a snapshot waits at most for an append's commit to join before it is committed alone. */
const SNAPSHOT_DELAY_MS = 50;

/**
 * Settings of {@link GroupCommit}.
 *
 * @example
 * ```ts
 * import type { GroupCommitOptions } from "./sqlite_append.ts";
 * const options: GroupCommitOptions = {
 *   idempotencyWindowMs: 24 * 60 * 60 * 1_000,
 *   clock: Date.now,
 *   committed: (events) => console.log(`a transaction committed ${events.length} events`),
 *   sync: undefined, // the commit itself is durable (synchronous=FULL), or nothing is (:memory:)
 * };
 * console.log(options.idempotencyWindowMs);
 * ```
 */
export interface GroupCommitOptions {
  /** How long an idempotency key is remembered. */
  readonly idempotencyWindowMs: number;
  /** The clock that dates idempotency keys. */
  readonly clock: () => number;
  /**
   * Called after transactions committed and became durable, once their appends are settled, with the events they
   * stored in token order (as a reader of the file would get them; none when they held only snapshots).
   */
  readonly committed: (events: readonly TrackedEventRecord[]) => void;
  /** Makes commits durable after the fact (`synchronous=NORMAL` plus a sync off the event loop); none: they are. */
  readonly sync: CommitSync | undefined;
}

/** A snapshot of an aggregate, as stored. */
type Snapshot = EventRecord & { readonly aggregate: AggregateRef };

/** A write waiting for the next group commit: events, or a snapshot (which then costs no commit of its own). */
type PendingAppend =
  | {
    readonly events: readonly EventRecord[];
    readonly resolve: (result: Required<AppendResult>) => void;
    readonly reject: (error: unknown) => void;
  }
  | {
    readonly snapshot: Snapshot;
    readonly resolve: () => void;
    readonly reject: (error: unknown) => void;
  };

/** Group-commits the appends (and snapshots) of one event store's database (the tables of `sqlite_schema.ts`). */
export class GroupCommit {
  readonly #sql: Sqlite;
  readonly #options: GroupCommitOptions;
  #pending: PendingAppend[] = [];
  #flushScheduled = false;
  /** The timer that writes snapshots no append took along (see {@link SNAPSHOT_DELAY_MS}). */
  #snapshotTimer: ReturnType<typeof setTimeout> | undefined;
  #purgedAt = 0;
  readonly #confirmations: CommitConfirmations;

  /** Writes through `sql`; the tables must exist. */
  constructor(sql: Sqlite, options: GroupCommitOptions) {
    this.#sql = sql;
    this.#options = options;
    this.#confirmations = new CommitConfirmations(options.sync, options.committed);
  }

  /** The first token committed but not yet durable: a reader of the file must stop before it (none: read on). */
  get pendingFrom(): number | undefined {
    return this.#confirmations.pendingFrom;
  }

  /** Queues a non-empty batch for the next group transaction; resolves with its tokens once committed. */
  append(events: readonly EventRecord[]): Promise<Required<AppendResult>> {
    return new Promise((resolve, reject) => this.#enqueue({ events, resolve, reject }));
  }

  /**
   * Queues a snapshot for the next group transaction (its sequence is checked inside it). It waits for the next
   * append's commit, at most {@link SNAPSHOT_DELAY_MS}, so that it costs no fsync of its own on a busy store.
   */
  appendSnapshot(snapshot: Snapshot): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ snapshot, resolve, reject }));
  }

  #enqueue(item: PendingAppend): void {
    const failure = this.#confirmations.failure;
    if (failure) return item.reject(failure);
    this.#pending.push(item);
    if (this.#flushScheduled) return;
    if ("snapshot" in item) {
      this.#snapshotTimer ??= setTimeout(() => this.flush(), SNAPSHOT_DELAY_MS);
      return;
    }
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits the queued writes now, each in its own savepoint, and settles them. */
  flush(): void {
    this.#flushScheduled = false;
    clearTimeout(this.#snapshotTimer);
    this.#snapshotTimer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const outcomes: (() => void)[] = [];
    const stored: TrackedEventRecord[] = [];
    const db = this.#sql.db;
    try {
      db.exec("BEGIN IMMEDIATE");
      this.#purgeKeys();
      for (const item of batch) outcomes.push(this.#inSavepoint(item, stored));
      db.exec("COMMIT");
    } catch (error) {
      if (db.isOpen && db.isTransaction) db.exec("ROLLBACK");
      for (const item of batch) item.reject(error);
      return;
    }
    this.#confirmations.add({
      settle: () => outcomes.forEach((settle) => settle()),
      fail: (error) => batch.forEach((item) => item.reject(error)),
      stored,
    });
  }

  /** Commits what is queued and confirms every commit (syncing, blocking, what is not yet durable). */
  close(): void {
    this.flush();
    this.#confirmations.close();
  }

  /**
   * Writes one batch or snapshot in a savepoint (rolled back when it fails), adding a batch's events to `stored`
   * once it is released; returns how to settle it after the commit.
   */
  #inSavepoint(item: PendingAppend, stored: TrackedEventRecord[]): () => void {
    const db = this.#sql.db;
    db.exec("SAVEPOINT append");
    try {
      if ("snapshot" in item) {
        this.#insertSnapshot(item.snapshot);
        db.exec("RELEASE append");
        return () => item.resolve();
      }
      const { result, records } = this.#insert(item.events);
      db.exec("RELEASE append");
      stored.push(...records);
      return () => item.resolve(result);
    } catch (error) {
      db.exec("ROLLBACK TO append");
      db.exec("RELEASE append");
      return () => item.reject(error);
    }
  }

  #insert(batch: readonly EventRecord[]): { result: Required<AppendResult>; records: TrackedEventRecord[] } {
    const { events, outcomes } = takeIdempotencyKeys(batch);
    this.#rememberKeys(outcomes);
    const error = validateSequences(events, (id) => highestSequence(this.#sql, id));
    if (error) throw new ConcurrencyError(error);
    const next =
      this.#sql.get<{ next: number }>("SELECT IFNULL(MAX(token), -1) + 1 AS next FROM events")!.next;
    const insert = this.#sql.statement(
      `INSERT INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    let token = next;
    const records: TrackedEventRecord[] = [];
    for (const event of events) {
      const metadata = encodeMetadata(event.metadata);
      records.push(storedEvent(token, event, metadata));
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
          metadata,
        );
      } catch (cause) {
        if (!String(cause).includes("UNIQUE")) throw cause;
        const { id, sequence } = event.aggregate ?? {};
        throw new ConcurrencyError(`Sequence ${sequence} of "${id}" is taken`, { cause });
      }
    }
    return { result: { firstToken: next, lastToken: token - 1 }, records };
  }

  #insertSnapshot(snapshot: Snapshot): void {
    const highest = highestSequence(this.#sql, snapshot.aggregate.id);
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

  /** Stores the keys of a batch, or throws {@link DuplicateCommandError} for one still remembered. */
  #rememberKeys(outcomes: readonly IdempotentOutcome[]): void {
    if (outcomes.length === 0) return;
    const now = this.#options.clock();
    for (const outcome of outcomes) {
      const row = this.#sql.get<{ aggregate_id: string; first_seq: number; last_seq: number }>(
        "SELECT aggregate_id, first_seq, last_seq FROM idempotency WHERE key = ? AND stored_at > ?",
        outcome.key,
        now - this.#options.idempotencyWindowMs,
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
    const now = this.#options.clock();
    if (now - this.#purgedAt < 60_000) return;
    this.#purgedAt = now;
    this.#sql.statement("DELETE FROM idempotency WHERE stored_at <= ?").run(
      now - this.#options.idempotencyWindowMs,
    );
  }
}
