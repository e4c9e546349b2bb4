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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS documents (
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (collection, id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5 (
  text, collection UNINDEXED, tokenize = "unicode61 remove_diacritics 0"
);
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
  readonly #textFields: readonly string[];

  constructor(sql: Sqlite, name: string, options: CollectionOptions) {
    this.#sql = sql;
    this.name = name;
    this.#textFields = (options.textFields ?? []).map(checkFieldName);
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
    const { rowid } = this.#sql.get<{ rowid: number }>(
      `INSERT INTO documents (collection, id, body) VALUES (?, ?, ?)
       ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body RETURNING rowid`,
      this.name,
      id,
      JSON.stringify(document),
    )!;
    if (this.#textFields.length === 0) return;
    this.#sql.run("DELETE FROM documents_fts WHERE rowid = ?", rowid);
    const text = this.#textFields.map((f) => document[f]).filter((v) => typeof v === "string").join("\n");
    this.#sql.run(
      "INSERT INTO documents_fts (rowid, text, collection) VALUES (?, ?, ?)",
      rowid,
      text,
      this.name,
    );
  }

  put(id: string, document: T) {
    return this.#sql.write(() => this.#put(id, document));
  }

  putMany(entries: readonly { readonly id: string; readonly document: T }[]) {
    return this.#sql.write(() => {
      for (const { id, document } of entries) this.#put(id, document);
    });
  }

  delete(id: string) {
    return this.#sql.write(() => {
      const row = this.#sql.get<{ rowid: number }>(
        "DELETE FROM documents WHERE collection = ? AND id = ? RETURNING rowid",
        this.name,
        id,
      );
      if (row) this.#sql.run("DELETE FROM documents_fts WHERE rowid = ?", row.rowid);
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
    const rows = this.#sql.all<DocRow>(
      `SELECT d.id, d.body FROM documents_fts f JOIN documents d ON d.rowid = f.rowid
       WHERE documents_fts MATCH ? AND f.collection = ? ORDER BY bm25(documents_fts) LIMIT ?`,
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
      this.#sql.run("DELETE FROM documents_fts WHERE collection = ?", this.name);
      this.#sql.run("DELETE FROM documents WHERE collection = ?", this.name);
    });
  }
}

/** Options of {@link SqliteDocumentStore}: a database file, or an open {@link Sqlite} to share with a TokenStore. */
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

  constructor(options: SqliteDocumentStoreOptions) {
    this.#owned = !("sqlite" in options);
    this.#sql = "sqlite" in options ? options.sqlite : new Sqlite(options.path, options);
    this.#sql.db.exec(SCHEMA);
  }

  collection<T extends JsonObject>(name: string, options: CollectionOptions = {}): Collection<T> {
    let collection = this.#collections.get(name);
    if (!collection) this.#collections.set(name, collection = new SqliteCollection(this.#sql, name, options));
    return collection as unknown as Collection<T>;
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
