/**
 * SQLite DocumentStore: documents as JSON text, full-text search with FTS5 (bm25 ranking).
 *
 * @module
 */
import { type OpenOptions, Sqlite } from "../sqlite/database.ts";
import {
  checkFieldName,
  type Collection,
  type CollectionOptions,
  type DocumentStore,
  type Found,
  type JsonObject,
  type ListOptions,
  parseSearch,
} from "./document_store.ts";
import { FtsIndex, PENDING_SCHEMA } from "./sqlite_fts.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS documents (
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (collection, id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_text USING fts5 (
  text, content = '', contentless_delete = 1, tokenize = "unicode61 remove_diacritics 0"
);
CREATE TABLE IF NOT EXISTS documents_reindex (collection TEXT PRIMARY KEY);
${PENDING_SCHEMA}`;

/**
 * Earlier versions kept an index with a copy of every text (`documents_fts`); the contentless index above keeps
 * only the terms. Opening such a database drops the old index and lists its collections in `documents_reindex`;
 * each is indexed anew (and unlisted) when a store first opens it with its text fields.
 */
const MIGRATE_OLD_INDEX = `
INSERT OR IGNORE INTO documents_reindex SELECT DISTINCT collection FROM documents_fts;
DROP TABLE documents_fts;
`;

interface DocRow {
  id: string;
  body: string;
}

/** Turns the shared search syntax into an FTS5 MATCH expression (every term quoted: input never breaks it). */
function toFts(query: string): string | undefined {
  const { phrases, prefixes } = parseSearch(query);
  const parts = [...phrases.map((p) => `"${p.join(" ")}"`), ...prefixes.map((p) => `"${p}"*`)];
  return parts.length > 0 ? parts.join(" AND ") : undefined;
}

class SqliteCollection<T extends JsonObject> implements Collection<T> {
  readonly name: string;
  readonly #sql: Sqlite;
  readonly #fts: FtsIndex;

  constructor(sql: Sqlite, fts: FtsIndex, name: string, options: CollectionOptions) {
    this.#sql = sql;
    this.#fts = fts;
    this.name = name;
    fts.register(name, (options.textFields ?? []).map(checkFieldName));
  }

  get(id: string) {
    const row = this.#sql.get<DocRow>(
      "SELECT body FROM documents WHERE collection = ? AND id = ?",
      this.name,
      id,
    );
    return Promise.resolve(row ? JSON.parse(row.body) as T : undefined);
  }

  #put(id: string, document: T): void {
    const body = JSON.stringify(document);
    const { changes, lastInsertRowid } = this.#sql.run(
      "INSERT INTO documents (collection, id, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      this.name,
      id,
      body,
    );
    const inserted = Number(changes) === 1;
    const rowid = inserted ? Number(lastInsertRowid) : this.#sql.get<{ rowid: number }>(
      "UPDATE documents SET body = ? WHERE collection = ? AND id = ? RETURNING rowid",
      body,
      this.name,
      id,
    )!.rowid;
    if (this.#fts.indexed(this.name)) {
      this.#fts.touch(rowid, !inserted, this.#fts.text(this.name, document));
    }
  }

  put(id: string, document: T) {
    // One effective statement: the INSERT, or (when it did nothing) the UPDATE; the index change is deferred.
    return this.#sql.write(() => {
      this.#put(id, document);
      this.#fts.settle();
    }, { singleStatement: true });
  }

  putMany(entries: readonly { readonly id: string; readonly document: T }[]) {
    return this.#sql.write(() => {
      for (const { id, document } of entries) this.#put(id, document);
      this.#fts.settle();
    });
  }

  delete(id: string) {
    return this.#sql.write(() => {
      const row = this.#sql.get<{ rowid: number }>(
        "DELETE FROM documents WHERE collection = ? AND id = ? RETURNING rowid",
        this.name,
        id,
      );
      if (row && this.#fts.indexed(this.name)) {
        this.#fts.touch(row.rowid, true, null);
        this.#fts.settle();
      }
      return row !== undefined;
    });
  }

  list(options: ListOptions = {}) {
    const order = options.orderBy ? `json_extract(body, '$.${checkFieldName(options.orderBy)}')` : "rowid";
    const rows = this.#sql.all<DocRow>(
      `SELECT id, body FROM documents WHERE collection = ? ORDER BY ${order} ${
        options.descending ? "DESC" : "ASC"
      }
       LIMIT ? OFFSET ?`,
      this.name,
      options.limit ?? 100,
      options.offset ?? 0,
    );
    return Promise.resolve(rows.map((r) => ({ id: r.id, document: JSON.parse(r.body) as T })));
  }

  search(query: string, options: { limit?: number } = {}) {
    const match = toFts(query);
    if (!match) return Promise.resolve([] as Found<T>[]);
    this.#fts.drain();
    const rows = this.#sql.all<DocRow>(
      `SELECT d.id, d.body FROM documents_text f JOIN documents d ON d.rowid = f.rowid
       WHERE documents_text MATCH ? AND d.collection = ? ORDER BY bm25(documents_text) LIMIT ?`,
      match,
      this.name,
      options.limit ?? 100,
    );
    return Promise.resolve(rows.map((r) => ({ id: r.id, document: JSON.parse(r.body) as T })));
  }

  count() {
    return Promise.resolve(
      this.#sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents WHERE collection = ?", this.name)
        ?.n ?? 0,
    );
  }

  clear() {
    return this.#sql.write(() => {
      this.#fts.settle();
      this.#fts.drain();
      this.#sql.run(
        "DELETE FROM documents_text WHERE rowid IN (SELECT rowid FROM documents WHERE collection = ?)",
        this.name,
      );
      this.#sql.run("DELETE FROM documents WHERE collection = ?", this.name);
    });
  }
}

/**
 * Options of {@link SqliteDocumentStore}: a database file, or an open {@link Sqlite} to share with a TokenStore.
 *
 * @example
 * ```ts
 * import { Sqlite, SqliteDocumentStore, type SqliteDocumentStoreOptions } from "../sqlite/mod.ts";
 * const own: SqliteDocumentStoreOptions = { path: ":memory:", synchronous: "NORMAL" }; // its own file
 * const sqlite = new Sqlite(":memory:");
 * const shared: SqliteDocumentStoreOptions = { sqlite }; // shares a connection with a SqliteTokenStore
 * const store = new SqliteDocumentStore(shared);
 * store.close();
 * sqlite.close();
 * ```
 */
export type SqliteDocumentStoreOptions = (OpenOptions & { readonly path: string }) | {
  readonly sqlite: Sqlite;
};

/**
 * Query models in SQLite.
 *
 * @example
 * ```ts
 * import { SqliteDocumentStore } from "./sqlite.ts";
 * const store = new SqliteDocumentStore({ path: ":memory:" });
 * const greetings = store.collection<{ message: string }>("greetings", { textFields: ["message"] });
 * await greetings.put("1", { message: "Hello world" });
 * console.log((await greetings.search("hel*")).length); // 1
 * store.close();
 * ```
 */
export class SqliteDocumentStore implements DocumentStore {
  readonly #sql: Sqlite;
  readonly #owned: boolean;
  readonly #collections = new Map<string, SqliteCollection<JsonObject>>();
  readonly #fts: FtsIndex;

  /** Opens the store on a database file, or on a shared {@link Sqlite}. */
  constructor(options: SqliteDocumentStoreOptions) {
    this.#owned = !("sqlite" in options);
    this.#sql = "sqlite" in options ? options.sqlite : new Sqlite(options.path, options);
    this.#sql.db.exec(SCHEMA);
    this.#fts = new FtsIndex(this.#sql);
    if (this.#sql.get("SELECT 1 FROM sqlite_master WHERE name = 'documents_fts'")) {
      this.#sql.transaction(() => this.#sql.db.exec(MIGRATE_OLD_INDEX));
    }
  }

  /** The collection `name` (a table, with a full-text index over `options.textFields`); see {@link DocumentStore.collection}. */
  collection<T extends JsonObject>(name: string, options: CollectionOptions = {}): Collection<T> {
    let collection = this.#collections.get(name);
    if (!collection) {
      this.#collections.set(name, collection = new SqliteCollection(this.#sql, this.#fts, name, options));
      if (this.#fts.indexed(name)) this.#reindexIfListed(name);
    }
    return collection as unknown as Collection<T>;
  }

  /** Indexes a collection's documents when the migration from the old index listed it. */
  #reindexIfListed(name: string): void {
    if (!this.#sql.get("SELECT 1 FROM documents_reindex WHERE collection = ?", name)) return;
    this.#sql.transaction(() => {
      this.#fts.unqueue(name);
      const insert = this.#sql.statement("INSERT INTO documents_text (rowid, text) VALUES (?, ?)");
      const rows = this.#sql.all<{ rowid: number; body: string }>(
        "SELECT rowid, body FROM documents WHERE collection = ?",
        name,
      );
      for (const row of rows) insert.run(row.rowid, this.#fts.text(name, JSON.parse(row.body) as JsonObject));
      this.#sql.run("DELETE FROM documents_reindex WHERE collection = ?", name);
    });
  }

  /**
   * Runs `work` as one transaction: every write it makes (through this store, or a token store or dead-letter
   * queue sharing this database) commits together or not at all. Processors run a batch of events in one unit,
   * which turns one fsync per document into one per batch.
   */
  unitOfWork<T>(work: () => Promise<T>): Promise<T> {
    return this.#sql.unit(work);
  }

  /** Closes the database when this store opened it. */
  close(): void {
    if (this.#owned) this.#sql.close();
  }
}
