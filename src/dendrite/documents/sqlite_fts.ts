/**
 * The SQLite document store's full-text index: `documents_text`, a contentless FTS5 index (terms only, keyed by
 * the document's rowid), kept in step with `documents`.
 *
 * Every transaction that writes to FTS5 adds a segment to it, however few texts it holds, and segments are
 * merged later: for a projection's small units of work that was half of all pages written to the query model.
 * So small changes wait in `documents_text_pending`, a plain table written in the same transaction as the
 * documents, and go into the index together once {@link INDEX_BATCH} have gathered, or before a search. A
 * search therefore still sees every committed document, a crash loses nothing (the queue is committed with the
 * documents), and a large unit of work (a replay) goes straight into the index as before.
 *
 * @module
 */
import type { Sqlite } from "../sqlite/database.ts";
import type { JsonObject } from "./document_store.ts";

/** Changes to the index wait until this many have gathered (or a search needs them). */
export const INDEX_BATCH = 256;

/** The table of changes waiting for the index; created with the store's schema. */
export const PENDING_SCHEMA = `
CREATE TABLE IF NOT EXISTS documents_text_pending (
  rowid INTEGER PRIMARY KEY,
  existed INTEGER NOT NULL,
  text TEXT
);
`;

/** One row's change: whether it had an index entry before, and its new text (null: none). */
interface Change {
  readonly existed: boolean;
  readonly text: string | null;
}

/**
 * Records the changes of a write (or of a whole unit of work) per row and, when it commits, either queues them
 * or applies them with whatever was queued. Applying many together keeps FTS5 inserts consecutive, which is
 * many times faster than interleaving them with other writes (each write statement makes FTS5 flush its pending
 * terms). After a write rolled back to its savepoint, the texts are read again from the documents.
 *
 * Inside a unit of work, search sees a document's new text only after the unit commits (like an Elasticsearch
 * refresh); `get` and `list` see it at once.
 */
export class FtsIndex {
  readonly #sql: Sqlite;
  readonly #fields = new Map<string, readonly string[]>();
  /** This write's (or unit's) changes by rowid. */
  readonly #pending = new Map<number, Change>();
  #deferred = false;
  #rollbacks = 0;
  /** Rows in `documents_text_pending`, as far as this store knows (more after a rollback: then it drains early). */
  #queued: number;

  /** Needs the tables (`documents`, `documents_text`, {@link PENDING_SCHEMA}) to exist. */
  constructor(sql: Sqlite) {
    this.#sql = sql;
    this.#queued = sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text_pending")!.n;
  }

  register(collection: string, fields: readonly string[]): void {
    this.#fields.set(collection, fields);
  }

  indexed(collection: string): boolean {
    return (this.#fields.get(collection)?.length ?? 0) > 0;
  }

  /** The indexed text of a document of `collection`. */
  text(collection: string, document: JsonObject): string {
    const fields = this.#fields.get(collection) ?? [];
    return fields.map((f) => document[f]).filter((v) => typeof v === "string").join("\n");
  }

  /**
   * Records that row `rowid` changed: `existed` whether it had an index entry before this change, `text` its new
   * text (null when the document is gone).
   */
  touch(rowid: number, existed: boolean, text: string | null): void {
    if (this.#pending.size === 0) this.#rollbacks = this.#sql.partialRollbacks;
    this.#pending.set(rowid, merged(this.#pending.get(rowid), { existed, text }));
    if (!this.#deferred) this.#deferred = this.#sql.deferToCommit(() => this.flush(), () => this.#discard());
  }

  /** Commits the recorded changes unless a unit of work will (call at the end of a write outside a unit). */
  settle(): void {
    if (!this.#deferred) this.flush();
  }

  /** Queues the recorded changes, or applies them with the queued ones once there are enough. */
  flush(): void {
    const changes = this.#changes();
    this.#discard();
    if (changes.size === 0) return;
    if (this.#queued + changes.size < INDEX_BATCH) return this.#queue(changes);
    const all = this.#takeQueued();
    for (const [rowid, change] of changes) all.set(rowid, merged(all.get(rowid), change));
    this.#apply(all);
  }

  /**
   * Applies whatever is queued (before a search), in a savepoint of its own. It may run inside another caller's
   * open unit of work: it then commits or rolls back with it, and either way the index and the queue agree.
   */
  drain(): void {
    if (!this.#sql.get("SELECT 1 AS queued FROM documents_text_pending LIMIT 1")) return;
    const db = this.#sql.db;
    db.exec("SAVEPOINT fts_drain");
    try {
      this.#apply(this.#takeQueued());
      db.exec("RELEASE fts_drain");
    } catch (error) {
      db.exec("ROLLBACK TO fts_drain");
      db.exec("RELEASE fts_drain");
      throw error;
    }
  }

  /** Forgets what is queued for the rows of `collection` (they are about to be indexed anew). */
  unqueue(collection: string): void {
    this.#sql.run(
      "DELETE FROM documents_text_pending WHERE rowid IN (SELECT rowid FROM documents WHERE collection = ?)",
      collection,
    );
  }

  /** The recorded changes, their texts read again when a write was rolled back to its savepoint meanwhile. */
  #changes(): Map<number, Change> {
    if (this.#sql.partialRollbacks === this.#rollbacks) return new Map(this.#pending);
    const changes = new Map<number, Change>();
    for (const [rowid, change] of this.#pending) {
      const row = this.#sql.get<{ collection: string; body: string }>(
        "SELECT collection, body FROM documents WHERE rowid = ?",
        rowid,
      );
      const text = row && this.indexed(row.collection)
        ? this.text(row.collection, JSON.parse(row.body) as JsonObject)
        : null;
      changes.set(rowid, { existed: change.existed, text });
    }
    return changes;
  }

  #queue(changes: ReadonlyMap<number, Change>): void {
    const upsert = this.#sql.statement(
      `INSERT INTO documents_text_pending (rowid, existed, text) VALUES (?, ?, ?)
       ON CONFLICT (rowid) DO UPDATE SET text = excluded.text`,
    );
    for (const [rowid, change] of changes) upsert.run(rowid, change.existed ? 1 : 0, change.text);
    this.#queued += changes.size;
  }

  #takeQueued(): Map<number, Change> {
    const rows = this.#sql.all<{ rowid: number; existed: number; text: string | null }>(
      "SELECT rowid, existed, text FROM documents_text_pending",
    );
    this.#sql.run("DELETE FROM documents_text_pending");
    this.#queued = 0;
    return new Map(rows.map((row) => [row.rowid, { existed: row.existed === 1, text: row.text }]));
  }

  /** Removes the old entries first, then inserts the new texts, so that FTS5 gets its inserts in one run. */
  #apply(changes: ReadonlyMap<number, Change>): void {
    for (const [rowid, change] of changes) {
      if (change.existed) this.#sql.run("DELETE FROM documents_text WHERE rowid = ?", rowid);
    }
    const insert = this.#sql.statement("INSERT INTO documents_text (rowid, text) VALUES (?, ?)");
    for (const [rowid, change] of changes) if (change.text !== null) insert.run(rowid, change.text);
  }

  #discard(): void {
    this.#pending.clear();
    this.#deferred = false;
  }
}

/** A later change on top of an earlier one: the index entry is the earlier's, the text the later's. */
function merged(earlier: Change | undefined, later: Change): Change {
  return earlier ? { existed: earlier.existed, text: later.text } : later;
}
