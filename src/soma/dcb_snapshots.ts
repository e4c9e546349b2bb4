/**
 * soma's DcbSnapshotStore service: snapshots by key (opaque bytes) and sequence in SQLite (`dcb.sqlite`, table
 * `dcb_snapshots`). A second snapshot at the same key and sequence replaces the first; `prune` deletes the key's
 * older ones. `List` and `Delete` take an exclusive upper bound; a `to_sequence` of 0 in `List` means no bound.
 * `GetLast` of a key without snapshots answers an empty response (no `snapshot`).
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import type { sendUnaryData } from "@grpc/grpc-js";
import { Sqlite, type Synchronous } from "../dendrite/sqlite/database.ts";
import type { GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import {
  AddSnapshotResponseSchema,
  type DcbSnapshotStore as DcbSnapshotStoreService,
  DeleteSnapshotsResponseSchema,
  GetLastSnapshotResponseSchema,
  ListSnapshotsResponseSchema,
  type Snapshot,
  SnapshotSchema,
} from "../gen/axon/dcb_pb.ts";
import { dcbServiceError } from "./dcb_service.ts";
import { callSignal } from "./calls.ts";
import { writeWithBackpressure } from "./streams.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dcb_snapshots (
  key BLOB NOT NULL,
  sequence INTEGER NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  payload BLOB NOT NULL,
  timestamp INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  PRIMARY KEY (key, sequence)
) WITHOUT ROWID;
`;

interface SnapshotRow {
  key: Uint8Array;
  sequence: number;
  name: string;
  version: string;
  payload: Uint8Array;
  timestamp: number;
  metadata: string;
}

/** A stored snapshot. */
export interface StoredSnapshot {
  readonly key: Uint8Array;
  readonly sequence: number;
  readonly snapshot: Snapshot;
}

/** Snapshots by key in SQLite. */
export class DcbSnapshots {
  readonly #sql: Sqlite;

  constructor(options: { readonly path: string; readonly synchronous?: Synchronous }) {
    this.#sql = new Sqlite(options.path, options);
    this.#sql.db.exec(SCHEMA);
  }

  add(key: Uint8Array, sequence: number, snapshot: Snapshot, prune: boolean): void {
    checkKey(key);
    if (sequence < 0) throw new RangeError(`A snapshot's sequence must not be negative, got ${sequence}`);
    this.#sql.transaction(() => {
      this.#sql.run(
        "INSERT OR REPLACE INTO dcb_snapshots (key, sequence, name, version, payload, timestamp, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
        key,
        sequence,
        snapshot.name,
        snapshot.version,
        snapshot.payload,
        Number(snapshot.timestamp),
        JSON.stringify(snapshot.metadata),
      );
      if (prune) this.#sql.run("DELETE FROM dcb_snapshots WHERE key = ? AND sequence < ?", key, sequence);
    });
  }

  delete(key: Uint8Array, toSequence: number): void {
    checkKey(key);
    this.#sql.run("DELETE FROM dcb_snapshots WHERE key = ? AND sequence < ?", key, toSequence);
  }

  list(key: Uint8Array, fromSequence: number, toSequence: number): StoredSnapshot[] {
    checkKey(key);
    const to = toSequence > 0 ? toSequence : Number.MAX_SAFE_INTEGER;
    return this.#sql.all<SnapshotRow>(
      "SELECT * FROM dcb_snapshots WHERE key = ? AND sequence >= ? AND sequence < ? ORDER BY sequence",
      key,
      fromSequence,
      to,
    ).map(fromRow);
  }

  last(key: Uint8Array): StoredSnapshot | undefined {
    checkKey(key);
    const row = this.#sql.get<SnapshotRow>(
      "SELECT * FROM dcb_snapshots WHERE key = ? ORDER BY sequence DESC LIMIT 1",
      key,
    );
    return row && fromRow(row);
  }

  close(): void {
    this.#sql.close();
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw new RangeError("A snapshot needs a key");
}

function fromRow(row: SnapshotRow): StoredSnapshot {
  return {
    key: row.key,
    sequence: row.sequence,
    snapshot: create(SnapshotSchema, {
      name: row.name,
      version: row.version,
      payload: row.payload,
      timestamp: BigInt(row.timestamp),
      metadata: JSON.parse(row.metadata),
    }),
  };
}

/** Builds the gRPC implementation over {@link DcbSnapshots}. */
export function dcbSnapshotService(
  snapshots: DcbSnapshots,
  shutdown: AbortSignal,
): GrpcServiceImplementation<typeof DcbSnapshotStoreService.method> {
  const unary = <T>(work: () => T, callback: sendUnaryData<T>) => {
    try {
      callback(null, work());
    } catch (error) {
      callback(dcbServiceError(error));
    }
  };
  return {
    add: (call, callback) =>
      unary(() => {
        const { key, sequence, prune, snapshot } = call.request;
        if (!snapshot) throw new RangeError("AddSnapshot needs a snapshot");
        snapshots.add(key, Number(sequence), snapshot, prune);
        return create(AddSnapshotResponseSchema, {});
      }, callback),
    delete: (call, callback) =>
      unary(() => {
        snapshots.delete(call.request.key, Number(call.request.toSequence));
        return create(DeleteSnapshotsResponseSchema, {});
      }, callback),
    list: async (call) => {
      const signal = callSignal(call, shutdown);
      try {
        const { key, fromSequence, toSequence } = call.request;
        for (const stored of snapshots.list(key, Number(fromSequence), Number(toSequence))) {
          const message = create(ListSnapshotsResponseSchema, {
            key: stored.key,
            sequence: BigInt(stored.sequence),
            snapshot: stored.snapshot,
          });
          await writeWithBackpressure(call, message, signal);
        }
        call.end();
      } catch (error) {
        if (!signal.aborted) call.emit("error", dcbServiceError(error));
      }
    },
    getLast: (call, callback) =>
      unary(() => {
        const stored = snapshots.last(call.request.key);
        return create(
          GetLastSnapshotResponseSchema,
          stored ? { key: stored.key, sequence: BigInt(stored.sequence), snapshot: stored.snapshot } : {},
        );
      }, callback),
  };
}
