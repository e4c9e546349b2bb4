/**
 * Opens SQLite databases (`node:sqlite`) the way every dendrite SQLite adapter wants them: WAL journal,
 * `synchronous=FULL` unless the caller opts into NORMAL, a busy timeout, short checkpoints, and a transaction helper.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

/**
 * Durability of commits: FULL survives a power cut; NORMAL (WAL) may lose the last commits on power loss.
 *
 * @example
 * ```ts
 * import { Sqlite, type Synchronous } from "./mod.ts";
 * const synchronous: Synchronous = Deno.env.get("SQLITE_SYNCHRONOUS") === "NORMAL" ? "NORMAL" : "FULL";
 * const sqlite = new Sqlite(":memory:", { synchronous });
 * sqlite.close();
 * ```
 */
export type Synchronous = "FULL" | "NORMAL";

/**
 * Options of {@link Sqlite}.
 *
 * @example
 * ```ts
 * import { Sqlite } from "./database.ts";
 * const sqlite = new Sqlite(":memory:", { synchronous: "NORMAL" }); // faster; may lose the last commits on power loss
 * sqlite.close();
 * ```
 */
export interface OpenOptions {
  /** Default `FULL`: an acknowledged write survives a power cut. */
  readonly synchronous?: Synchronous;
  /**
   * The write-ahead log's size, in pages, at which a commit also checkpoints it into the database file (default
   * {@link CHECKPOINT_PAGES}; SQLite's own default is 1000).
   */
  readonly checkpointPages?: number;
}

/**
 * Default {@link OpenOptions.checkpointPages}: 200 pages (800 KiB at 4 KiB pages). The checkpoint runs inside the
 * commit that fills the log, on the thread that runs JavaScript, and ends with an `fsync` of the database file;
 * at SQLite's 1000 pages that commit stalled the event loop for tens of ms. With 64 Greets in flight in one
 * process, p99 fell from ~28 ms to ~19 ms at the same rate (docs/api.md, "Checkpoints").
 *
 * @example
 * ```ts
 * import { CHECKPOINT_PAGES, Sqlite } from "./database.ts";
 * const path = `${await Deno.makeTempDir()}/import.sqlite`;
 * const bulk = new Sqlite(path, { checkpointPages: 5 * CHECKPOINT_PAGES }); // a batch import: fewer, longer syncs
 * bulk.close();
 * ```
 */
export const CHECKPOINT_PAGES = 200;

/**
 * A SQLite connection with cached prepared statements.
 *
 * @example
 * ```ts
 * import { Sqlite } from "./database.ts";
 * const sqlite = new Sqlite(":memory:");
 * sqlite.db.exec("CREATE TABLE t (x INTEGER)");
 * sqlite.close();
 * ```
 */
export class Sqlite {
  /** The underlying `node:sqlite` connection. */
  readonly db: DatabaseSync;
  /** The database file (`:memory:` for an in-memory database). */
  readonly path: string;
  readonly #statements = new Map<string, StatementSync>();
  readonly #context = new AsyncLocalStorage<symbol>();
  #unit: { readonly id: symbol; readonly done: Promise<void> } | undefined;
  readonly #beforeCommit = new Set<() => void>();
  readonly #onRollback = new Set<() => void>();
  #partialRollbacks = 0;

  /** Opens (or creates) the database in WAL mode. */
  constructor(path: string, options: OpenOptions = {}) {
    this.path = path;
    this.db = new DatabaseSync(path);
    // First: processes opening the same file at once wait for each other instead of failing "database is locked".
    this.db.exec("PRAGMA busy_timeout = 5000");
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec(`PRAGMA synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
    this.db.exec(`PRAGMA wal_autocheckpoint = ${checkpointPages(options.checkpointPages)}`);
    this.db.exec("PRAGMA foreign_keys = ON");
  }

  /** A prepared statement, cached by its SQL text. */
  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs a statement for its effect. */
  run(
    sql: string,
    ...params: SQLInputValue[]
  ): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.statement(sql).run(...params);
  }

  /** The first row, typed by the caller (the schema is ours), or undefined. */
  get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.statement(sql).get(...params) as T | undefined;
  }

  /** All rows, typed by the caller (the schema is ours). */
  all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.statement(sql).all(...params) as T[];
  }

  /** Runs `work` in one immediate transaction; rolls back when it throws. */
  transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Runs async `work` as one unit of work: one immediate transaction that commits when `work` resolves and rolls
   * back when it rejects. Writes made through {@link write} from inside `work` join it; writes from elsewhere in
   * the process wait until it ends (units never interleave). Reads from elsewhere may see its uncommitted writes.
   */
  async unit<T>(work: () => Promise<T>): Promise<T> {
    if (this.#unit && this.#context.getStore() === this.#unit.id) return await work();
    while (this.#unit) await this.#unit.done;
    let finish!: () => void;
    const id = Symbol("unit");
    this.#unit = { id, done: new Promise<void>((resolve) => (finish = resolve)) };
    try {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await this.#context.run(id, work);
        for (const flush of this.#beforeCommit) flush();
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.db.isOpen && this.db.isTransaction) this.db.exec("ROLLBACK");
        for (const discard of this.#onRollback) discard();
        throw error;
      }
    } finally {
      this.#beforeCommit.clear();
      this.#onRollback.clear();
      this.#unit = undefined;
      finish();
    }
  }

  /** Whether the caller runs inside this connection's current unit of work. */
  inUnit(): boolean {
    return this.#unit !== undefined && this.#context.getStore() === this.#unit.id;
  }

  /**
   * Inside a unit of work: runs `flush` (synchronously, in the transaction) right before the unit commits, and
   * `discard` if it rolls back; returns true. Outside a unit it does nothing and returns false.
   */
  deferToCommit(flush: () => void, discard: () => void): boolean {
    if (!this.inUnit()) return false;
    this.#beforeCommit.add(flush);
    this.#onRollback.add(discard);
    return true;
  }

  /**
   * Runs synchronous `work` in a transaction of its own, or inside the current unit of work when called from
   * one; waits first while another unit is open. Every write of a connection shared by several stores goes
   * through here. Inside a unit, `work` runs in a savepoint so that a failing write leaves nothing behind while the
   * unit goes on; `singleStatement: true` says `work` changes the database with at most one statement (which
   * SQLite already makes atomic), so the savepoint is skipped.
   */
  async write<T>(work: () => T, options: { singleStatement?: boolean } = {}): Promise<T> {
    if (this.#unit && this.#context.getStore() === this.#unit.id) {
      if (options.singleStatement) return work();
      this.statement("SAVEPOINT write").run();
      try {
        const result = work();
        this.statement("RELEASE write").run();
        return result;
      } catch (error) {
        this.statement("ROLLBACK TO write").run();
        this.statement("RELEASE write").run();
        this.#partialRollbacks++;
        throw error;
      }
    }
    while (this.#unit) await this.#unit.done;
    return this.transaction(work);
  }

  /** How many writes inside units of work were rolled back to their savepoint so far (for caches of writes). */
  get partialRollbacks(): number {
    return this.#partialRollbacks;
  }

  /** Closes the connection. */
  close(): void {
    this.#statements.clear();
    if (this.db.isOpen) this.db.close();
  }
}

function checkpointPages(pages = CHECKPOINT_PAGES): number {
  if (!Number.isSafeInteger(pages) || pages < 1) {
    throw new RangeError(`checkpointPages must be a positive integer, got ${pages}`);
  }
  return pages;
}
