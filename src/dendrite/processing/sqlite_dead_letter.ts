/**
 * SQLite DeadLetterQueue: one row per parked event with the serialized event as stored in the event store.
 *
 * @module
 */
import { type EventRow, trackedEventFromRow } from "../eventstore/sqlite_rows.ts";
import { type OpenOptions, Sqlite } from "../sqlite/database.ts";
import type { DeadLetter, DeadLetterListOptions, DeadLetterQueue, NewDeadLetter } from "./dead_letter.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dead_letters (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  processor TEXT NOT NULL,
  segment INTEGER NOT NULL,
  sequence_id TEXT NOT NULL,
  token INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  aggregate_id TEXT,
  aggregate_type TEXT,
  seq INTEGER,
  timestamp INTEGER NOT NULL,
  payload_type TEXT NOT NULL,
  payload_revision TEXT NOT NULL,
  payload BLOB NOT NULL,
  metadata TEXT NOT NULL,
  cause TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  last_attempt_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_processor ON dead_letters (processor, sequence_id);
CREATE INDEX IF NOT EXISTS dead_letters_event ON dead_letters (processor, event_id);
`;

interface Row extends EventRow {
  id: string;
  processor: string;
  segment: number;
  sequence_id: string;
  cause: string;
  attempts: number;
  enqueued_at: number;
  last_attempt_at: number;
}

function toLetter(row: Row): DeadLetter {
  return {
    id: row.id,
    processor: row.processor,
    segment: row.segment,
    sequenceId: row.sequence_id,
    cause: row.cause,
    attempts: row.attempts,
    enqueuedAt: row.enqueued_at,
    lastAttemptAt: row.last_attempt_at,
    event: trackedEventFromRow(row),
  };
}

/**
 * Options of {@link SqliteDeadLetterQueue}: a database file, or an open {@link Sqlite} to share.
 *
 * @example
 * ```ts
 * import { Sqlite, SqliteDeadLetterQueue, type SqliteDeadLetterQueueOptions } from "../sqlite/mod.ts";
 * const sqlite = new Sqlite(":memory:"); // shared with the projection's token and document stores
 * const options: SqliteDeadLetterQueueOptions = { sqlite }; // or { path: "letters.db" }
 * const letters = new SqliteDeadLetterQueue(options);
 * letters.close();
 * sqlite.close();
 * ```
 */
export type SqliteDeadLetterQueueOptions = (OpenOptions & { readonly path: string }) | {
  readonly sqlite: Sqlite;
};

/**
 * Dead letters in a SQLite table (shareable with the token and document stores).
 *
 * @example
 * ```ts
 * import { SqliteDeadLetterQueue } from "./sqlite_dead_letter.ts";
 * const letters = new SqliteDeadLetterQueue({ path: ":memory:" });
 * console.log(await letters.list("greetings")); // []
 * letters.close();
 * ```
 */
export class SqliteDeadLetterQueue implements DeadLetterQueue {
  readonly #sql: Sqlite;
  readonly #owned: boolean;
  readonly #now: () => number;

  /** Opens the queue on a database file, or on a shared {@link Sqlite}; `now` dates the letters (default Date.now). */
  constructor(options: SqliteDeadLetterQueueOptions, clock: { now?: () => number } = {}) {
    this.#owned = !("sqlite" in options);
    this.#sql = "sqlite" in options ? options.sqlite : new Sqlite(options.path, options);
    this.#sql.db.exec(SCHEMA);
    this.#now = clock.now ?? Date.now;
  }

  /** Parks an event; see {@link DeadLetterQueue.enqueue}. */
  async enqueue(letter: NewDeadLetter): Promise<DeadLetter> {
    const now = this.#now();
    const id = crypto.randomUUID();
    const { event } = letter;
    const existing = await this.#sql.write(() => {
      const parked = this.#sql.get<Row>(
        "SELECT * FROM dead_letters WHERE processor = ? AND event_id = ?",
        letter.processor,
        event.id,
      );
      if (parked) return toLetter(parked);
      this.#sql.run(
        `INSERT INTO dead_letters (id, processor, segment, sequence_id, token, event_id, aggregate_id, aggregate_type,
       seq, timestamp, payload_type, payload_revision, payload, metadata, cause, attempts, enqueued_at,
       last_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        id,
        letter.processor,
        letter.segment,
        letter.sequenceId,
        event.token,
        event.id,
        event.aggregate?.id ?? null,
        event.aggregate?.type ?? null,
        event.aggregate?.sequence ?? null,
        event.timestamp,
        event.payload.type,
        event.payload.revision,
        event.payload.data,
        JSON.stringify(event.metadata),
        letter.cause,
        letter.attempts,
        now,
        now,
      );
    });
    return existing ?? { ...letter, id, enqueuedAt: now, lastAttemptAt: now };
  }

  /** The processor's letters; see {@link DeadLetterQueue.list}. */
  list(processor: string, options: DeadLetterListOptions = {}): Promise<DeadLetter[]> {
    const sequence = options.sequenceId ?? null;
    return Promise.resolve(
      this.#sql.all<Row>(
        `SELECT * FROM dead_letters WHERE processor = ? AND (? IS NULL OR sequence_id = ?)
         ORDER BY position LIMIT ? OFFSET ?`,
        processor,
        sequence,
        sequence,
        options.limit ?? 100,
        options.offset ?? 0,
      ).map(toLetter),
    );
  }

  /** The letter with this id. */
  get(id: string): Promise<DeadLetter | undefined> {
    const row = this.#sql.get<Row>("SELECT * FROM dead_letters WHERE id = ?", id);
    return Promise.resolve(row ? toLetter(row) : undefined);
  }

  /** Records another failed attempt. */
  async recordAttempt(id: string, cause: string): Promise<void> {
    await this.#sql.write(() =>
      this.#sql.run(
        "UPDATE dead_letters SET cause = ?, attempts = attempts + 1, last_attempt_at = ? WHERE id = ?",
        cause,
        this.#now(),
        id,
      )
    );
  }

  /** Removes a letter; true when it existed. */
  async delete(id: string): Promise<boolean> {
    const { changes } = await this.#sql.write(() =>
      this.#sql.run("DELETE FROM dead_letters WHERE id = ?", id)
    );
    return Number(changes) > 0;
  }

  /** Sequence ids with parked letters. */
  sequences(processor: string): Promise<string[]> {
    return Promise.resolve(
      this.#sql.all<{ sequence_id: string }>(
        "SELECT DISTINCT sequence_id FROM dead_letters WHERE processor = ?",
        processor,
      ).map((r) => r.sequence_id),
    );
  }

  /** Letters of the processor (of one sequence when `sequenceId` is given). */
  count(processor: string, sequenceId?: string): Promise<number> {
    const sequence = sequenceId ?? null;
    const row = this.#sql.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM dead_letters WHERE processor = ? AND (? IS NULL OR sequence_id = ?)",
      processor,
      sequence,
      sequence,
    );
    return Promise.resolve(row?.n ?? 0);
  }

  /** Closes the database when this queue opened it. */
  close(): void {
    if (this.#owned) this.#sql.close();
  }
}
