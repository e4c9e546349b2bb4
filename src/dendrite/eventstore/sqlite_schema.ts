/**
 * The SQLite event store's tables (events, snapshots, idempotency keys), their column lists, and the query both
 * the write side and the read side need (an aggregate's highest sequence).
 *
 * @module
 */
import type { Sqlite } from "../sqlite/database.ts";

/** The tables and indexes, created when missing. */
export const SCHEMA = `
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

/** The columns of an event row, in `EventRow` order. */
export const COLUMNS =
  "token, event_id, aggregate_id, aggregate_type, seq, timestamp, payload_type, payload_revision, " +
  "payload, metadata";

/** The columns of a snapshot row (the sequence stands in for the token). */
export const SNAPSHOT_COLUMNS =
  "event_id, aggregate_id, aggregate_type, seq, timestamp, payload_type, payload_revision, " +
  "payload, metadata";

/** The aggregate's last sequence number, -1 when it has no events. */
export function highestSequence(sql: Sqlite, aggregateId: string): number {
  return sql.get<{ seq: number | null }>(
    "SELECT MAX(seq) AS seq FROM events WHERE aggregate_id = ?",
    aggregateId,
  )?.seq ?? -1;
}
