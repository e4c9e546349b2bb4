/**
 * The SQLite DCB event store (`node:sqlite`, WAL, synchronous FULL by default): events keyed by their global
 * sequence, tags in an indexed table so that sourcing by criteria is an index lookup (see sqlite_criteria.ts), and
 * each conditional append's check and insert in one transaction (appends arriving together share one commit,
 * each in its own savepoint): a violation stores nothing of that append.
 *
 * Live streams wake on appends made through this instance; appends by another process are seen on the next
 * append here (or the next read), not pushed.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { Notifier } from "../core/async.ts";
import { Sqlite, type Synchronous } from "../sqlite/database.ts";
import {
  type AppendCondition,
  checkSequence,
  completeEvent,
  ConsistencyViolationError,
  type Criterion,
  type DcbAppendResult,
  type DcbEventStore,
  type DcbReadOptions,
  type SequencedEvent,
  type Sourced,
  type Tag,
  type TaggedEvent,
  uniqueTags,
  UnknownSequenceError,
} from "./dcb_event_store.ts";
import { follow } from "./follow.ts";
import { matchingSequencesSql } from "./sqlite_criteria.ts";

/**
 * Options of {@link SqliteDcbEventStore}.
 *
 * @example
 * ```ts
 * import { SqliteDcbEventStore, type SqliteDcbEventStoreOptions } from "../sqlite/mod.ts";
 * const options: SqliteDcbEventStoreOptions = { path: ":memory:", synchronous: "FULL" };
 * const store = new SqliteDcbEventStore(options);
 * console.log(await store.head()); // 0
 * store.close();
 * ```
 */
export interface SqliteDcbEventStoreOptions {
  /** Database file (`:memory:` for a throw-away store). */
  readonly path: string;
  /** Default FULL: an acknowledged append survives a power cut. */
  readonly synchronous?: Synchronous;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dcb_events (
  sequence INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  payload BLOB NOT NULL,
  metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dcb_events_name ON dcb_events (name, sequence);
CREATE INDEX IF NOT EXISTS dcb_events_timestamp ON dcb_events (timestamp);
CREATE TABLE IF NOT EXISTS dcb_tags (
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  sequence INTEGER NOT NULL REFERENCES dcb_events (sequence),
  PRIMARY KEY (key, value, sequence)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dcb_tags_sequence ON dcb_tags (sequence);
`;

interface EventRow {
  sequence: number;
  id: string;
  timestamp: number;
  name: string;
  version: string;
  payload: Uint8Array;
  metadata: string;
}

const END = Number.MAX_SAFE_INTEGER;

interface PendingAppend {
  readonly events: readonly TaggedEvent[];
  readonly condition: AppendCondition | undefined;
  resolve(result: DcbAppendResult): void;
  reject(error: unknown): void;
}

/**
 * A {@link DcbEventStore} in one SQLite file.
 *
 * @example
 * ```ts
 * import { SqliteDcbEventStore } from "./sqlite.ts";
 * const store = new SqliteDcbEventStore({ path: ":memory:" });
 * console.log(await store.head()); // 0
 * store.close();
 * ```
 */
export class SqliteDcbEventStore implements DcbEventStore {
  readonly #sql: Sqlite;
  readonly #appended = new Notifier();
  readonly #pending: PendingAppend[] = [];

  /** Opens (or creates) the store in `options.path`. */
  constructor(options: SqliteDcbEventStoreOptions) {
    this.#sql = new Sqlite(options.path, options);
    this.#sql.db.exec(SCHEMA);
  }

  /** Appends the events atomically, on `condition` when given; see {@link DcbEventStore.append}. */
  append(events: readonly TaggedEvent[], condition?: AppendCondition): Promise<DcbAppendResult> {
    return new Promise((resolve, reject) => {
      if (condition) checkSequence(condition.marker, "consistency marker");
      this.#pending.push({ events, condition, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#commitPending());
    });
  }

  /**
   * Group commit: every append that arrived since the last commit goes into one SQLite transaction, each in its
   * own savepoint, checked against what the earlier ones stored. A violation rolls back that append only; a
   * failed commit rejects them all (nothing stored).
   */
  #commitPending(): void {
    const batch = this.#pending.splice(0);
    const outcomes: ({ result: DcbAppendResult } | { error: unknown })[] = [];
    try {
      this.#sql.transaction(() => {
        for (const pending of batch) {
          this.#sql.db.exec("SAVEPOINT dcb_append");
          try {
            outcomes.push({ result: this.#appendNow(pending.events, pending.condition) });
          } catch (error) {
            this.#sql.db.exec("ROLLBACK TO dcb_append");
            outcomes.push({ error });
          }
          this.#sql.db.exec("RELEASE dcb_append");
        }
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    if (outcomes.some((o) => "result" in o && o.result.count > 0)) this.#appended.notify();
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if ("result" in outcome) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    });
  }

  #appendNow(events: readonly TaggedEvent[], condition: AppendCondition | undefined): DcbAppendResult {
    if (condition) this.#check(condition);
    const now = Date.now();
    const first = this.#head();
    events.forEach((tagged, i) => {
      const event = completeEvent(tagged.event, now);
      this.#sql.run(
        "INSERT INTO dcb_events (sequence, id, timestamp, name, version, payload, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
        first + i,
        event.id,
        event.timestamp,
        event.name,
        event.version,
        event.payload,
        JSON.stringify(event.metadata),
      );
      this.#insertTags(first + i, tagged.tags);
    });
    return { firstSequence: first, count: events.length, marker: first + events.length };
  }

  /** The events matching `criteria` and the marker to append with; see {@link DcbEventStore.source}. */
  source(criteria: readonly Criterion[], options: DcbReadOptions = {}): Promise<Sourced> {
    return attempt(() => {
      const marker = this.#head();
      return { events: this.#read(criteria, options.from ?? 0, marker, END), marker };
    });
  }

  /** The events matching `criteria` in sequence order; see {@link DcbEventStore.stream}. */
  stream(criteria: readonly Criterion[], options: DcbReadOptions = {}): AsyncIterable<SequencedEvent> {
    return follow(
      (from, limit) => this.#read(criteria, from, END, limit),
      this.#appended,
      options.from ?? 0,
      options.signal,
    );
  }

  /** The sequence the next event gets. */
  head(): Promise<number> {
    return attempt(() => this.#head());
  }

  /** The sequence of the first stored event (0: never truncated). */
  tail(): Promise<number> {
    return attempt(() =>
      this.#sql.get<{ tail: number | null }>("SELECT MIN(sequence) AS tail FROM dcb_events")?.tail ?? 0
    );
  }

  /** The first sequence stored at or after `timestamp`. */
  sequenceAt(timestamp: number): Promise<number> {
    return attempt(() =>
      this.#sql.get<{ sequence: number | null }>(
        "SELECT MIN(sequence) AS sequence FROM dcb_events WHERE timestamp >= ?",
        timestamp,
      )?.sequence ?? this.#head()
    );
  }

  /** Adds tags to a stored event. */
  addTags(sequence: number, tags: readonly Tag[]): Promise<void> {
    return attempt(() =>
      this.#sql.transaction(() => {
        this.#existing(sequence);
        this.#insertTags(sequence, tags);
      })
    );
  }

  /** Removes tags from a stored event. */
  removeTags(sequence: number, tags: readonly Tag[]): Promise<void> {
    return attempt(() =>
      this.#sql.transaction(() => {
        this.#existing(sequence);
        for (const t of tags) {
          this.#sql.run(
            "DELETE FROM dcb_tags WHERE key = ? AND value = ? AND sequence = ?",
            t.key,
            t.value,
            sequence,
          );
        }
      })
    );
  }

  /** The tags of a stored event. */
  getTags(sequence: number): Promise<Tag[]> {
    return attempt(() => {
      this.#existing(sequence);
      return this.#sql.all<Tag>(
        "SELECT key, value FROM dcb_tags WHERE sequence = ? ORDER BY key, value",
        sequence,
      );
    });
  }

  /** Closes the database. */
  close(): void {
    this.#sql.close();
  }

  #head(): number {
    const row = this.#sql.get<{ head: number | null }>("SELECT MAX(sequence) + 1 AS head FROM dcb_events");
    return row?.head ?? 0;
  }

  #existing(sequence: number): void {
    checkSequence(sequence);
    if (!this.#sql.get("SELECT 1 FROM dcb_events WHERE sequence = ?", sequence)) {
      throw new UnknownSequenceError(sequence);
    }
  }

  #insertTags(sequence: number, tags: readonly Tag[]): void {
    for (const t of uniqueTags(tags)) {
      this.#sql.run(
        "INSERT OR IGNORE INTO dcb_tags (key, value, sequence) VALUES (?, ?, ?)",
        t.key,
        t.value,
        sequence,
      );
    }
  }

  #check(condition: AppendCondition): void {
    const query = matchingSequencesSql(condition.criteria, condition.marker, END, 1);
    const conflict = this.#sql.get<{ sequence: number }>(query.sql, ...query.params);
    if (conflict) {
      throw new ConsistencyViolationError(
        `Consistency condition failed: event ${conflict.sequence} matches the criteria at or after marker ${condition.marker}`,
      );
    }
  }

  #read(criteria: readonly Criterion[], from: number, to: number, limit: number): SequencedEvent[] {
    checkSequence(from, "start sequence");
    const query = matchingSequencesSql(criteria, from, to, Number.isFinite(limit) ? limit : -1);
    const rows = this.#sql.all<EventRow>(
      `SELECT e.* FROM (${query.sql}) m JOIN dcb_events e ON e.sequence = m.sequence ORDER BY e.sequence`,
      ...query.params,
    );
    return rows.map((row) => ({
      sequence: row.sequence,
      event: {
        id: row.id,
        timestamp: row.timestamp,
        name: row.name,
        version: row.version,
        payload: row.payload,
        metadata: JSON.parse(row.metadata),
      },
    }));
  }
}

/** Runs synchronous work as a promise (errors reject it). */
function attempt<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}
