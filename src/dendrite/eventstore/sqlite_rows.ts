/**
 * How a stored event is laid out in SQLite rows, shared by the event store and the dead-letter queue: the columns,
 * metadata as JSON text, and the row → record mapping (one object per row: it is on every processor's read path).
 *
 * @module
 */
import type { Metadata } from "../core/message.ts";
import type { EventRecord, TrackedEventRecord } from "./event_store.ts";

/** The columns of a stored event. */
export interface EventRow {
  token: number;
  event_id: string;
  aggregate_id: string | null;
  aggregate_type: string | null;
  seq: number | null;
  timestamp: number;
  payload_type: string;
  payload_revision: string;
  payload: Uint8Array;
  metadata: string | null;
}

/** Metadata as stored: JSON text, or null when empty. */
export function encodeMetadata(metadata: Metadata): string | null {
  for (const _ in metadata) return JSON.stringify(metadata);
  return null;
}

function decodeMetadata(text: string | null): Metadata {
  return text === null ? {} : JSON.parse(text) as Metadata;
}

/** A row as an event record (without its token). */
export function eventFromRow(row: EventRow): EventRecord {
  const payload = { type: row.payload_type, revision: row.payload_revision, data: row.payload };
  const metadata = decodeMetadata(row.metadata);
  return row.aggregate_id === null ? { id: row.event_id, timestamp: row.timestamp, payload, metadata } : {
    id: row.event_id,
    timestamp: row.timestamp,
    payload,
    metadata,
    aggregate: { id: row.aggregate_id, type: row.aggregate_type ?? "", sequence: row.seq ?? 0 },
  };
}

/** A row as an event record with its token. */
export function trackedEventFromRow(row: EventRow): TrackedEventRecord {
  const record = eventFromRow(row) as EventRecord & { token: number };
  record.token = row.token;
  return record;
}

/**
 * The record a reader of the file gets for `event` stored at `token` with `metadata` (its stored JSON text): the
 * same shape as {@link trackedEventFromRow}, with a copy of the payload's bytes.
 */
export function storedEvent(token: number, event: EventRecord, metadata: string | null): TrackedEventRecord {
  const { aggregate } = event;
  return trackedEventFromRow({
    token,
    event_id: event.id,
    aggregate_id: aggregate?.id ?? null,
    aggregate_type: aggregate?.type ?? null,
    seq: aggregate?.sequence ?? null,
    timestamp: event.timestamp,
    payload_type: event.payload.type,
    payload_revision: event.payload.revision,
    payload: event.payload.data.slice(),
    metadata,
  });
}
