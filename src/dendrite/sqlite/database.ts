/**
 * Opens SQLite databases (`node:sqlite`) the way every dendrite SQLite adapter wants them: WAL journal,
 * `synchronous=FULL` unless the caller opts into NORMAL, a busy timeout, and a transaction helper.
 *
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

/** Durability of commits: FULL survives a power cut; NORMAL (WAL) may lose the last commits on power loss. */
export type Synchronous = "FULL" | "NORMAL";

export interface OpenOptions {
  /** Default `FULL`: an acknowledged write survives a power cut. */
  readonly synchronous?: Synchronous;
}

/** A SQLite connection with cached prepared statements. */
export class Sqlite {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly #statements = new Map<string, StatementSync>();

  constructor(path: string, options: OpenOptions = {}) {
    this.path = path;
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec(`PRAGMA synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
    this.db.exec("PRAGMA busy_timeout = 5000");
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

  close(): void {
    this.#statements.clear();
    if (this.db.isOpen) this.db.close();
  }
}
