/**
 * SQLite TokenStore. Claims are taken with a conditional UPDATE (the row changes only when unclaimed, owned by the
 * caller, or expired), so several processes sharing the database file compete safely.
 *
 * @module
 */
import { ClaimError } from "../core/errors.ts";
import { type OpenOptions, Sqlite } from "../sqlite/database.ts";
import type { SegmentEntry, TokenStore, TrackingToken } from "./token_store.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tokens (
  processor TEXT NOT NULL,
  segment INTEGER NOT NULL,
  token TEXT NOT NULL,
  owner TEXT,
  claimed_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (processor, segment)
);
`;

interface TokenRow {
  segment: number;
  token: string;
  owner: string | null;
  claimed_at: number;
}

/**
 * Options of {@link SqliteTokenStore}: a database file, or an open {@link Sqlite} to share with a DocumentStore.
 *
 * @example
 * ```ts
 * import { SqliteTokenStore, type SqliteTokenStoreOptions } from "../sqlite/mod.ts";
 * const options: SqliteTokenStoreOptions = { path: ":memory:", synchronous: "FULL" }; // or { sqlite }
 * const tokens = new SqliteTokenStore(options);
 * console.log(await tokens.segments("greetings")); // []
 * tokens.close();
 * ```
 */
export type SqliteTokenStoreOptions = (OpenOptions & { readonly path: string }) | { readonly sqlite: Sqlite };

/**
 * Tokens and claims in a SQLite table.
 *
 * @example
 * ```ts
 * import { SqliteTokenStore } from "./sqlite_token_store.ts";
 * const tokens = new SqliteTokenStore({ path: ":memory:" });
 * await tokens.initializeSegments("greetings", 2);
 * console.log(await tokens.segments("greetings")); // [0, 1]
 * ```
 */
export class SqliteTokenStore implements TokenStore {
  readonly #sql: Sqlite;
  readonly #owned: boolean;
  readonly #now: () => number;

  /** Opens the store on a database file, or on a shared {@link Sqlite}; `now` judges claim expiry (default Date.now). */
  constructor(options: SqliteTokenStoreOptions, clock: { now?: () => number } = {}) {
    this.#owned = !("sqlite" in options);
    this.#sql = "sqlite" in options ? options.sqlite : new Sqlite(options.path, options);
    this.#sql.db.exec(SCHEMA);
    this.#now = clock.now ?? Date.now;
  }

  /** Creates `count` segments when the processor has none; see {@link TokenStore.initializeSegments}. */
  async initializeSegments(
    processor: string,
    count: number,
    initialToken: TrackingToken = { index: -1 },
  ): Promise<void> {
    await this.#sql.write(() => {
      const existing = this.#sql.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM tokens WHERE processor = ?",
        processor,
      );
      if ((existing?.n ?? 0) > 0) return;
      for (let segment = 0; segment < count; segment++) {
        this.#sql.run(
          "INSERT INTO tokens (processor, segment, token) VALUES (?, ?, ?)",
          processor,
          segment,
          JSON.stringify(initialToken),
        );
      }
    });
  }

  /** The processor's segment ids. */
  segments(processor: string): Promise<number[]> {
    return Promise.resolve(
      this.#sql.all<{ segment: number }>(
        "SELECT segment FROM tokens WHERE processor = ? ORDER BY segment",
        processor,
      ).map((r) => r.segment),
    );
  }

  /** The processor's segments with their tokens and owners. */
  entries(processor: string): Promise<SegmentEntry[]> {
    return Promise.resolve(
      this.#sql.all<TokenRow>(
        "SELECT segment, token, owner, claimed_at FROM tokens WHERE processor = ? ORDER BY segment",
        processor,
      ).map((row) => ({
        processor,
        segment: row.segment,
        token: JSON.parse(row.token) as TrackingToken,
        owner: row.owner ?? undefined,
        claimedAt: row.claimed_at,
      })),
    );
  }

  /** Claims a segment for `owner` when it is free, its own, or its claim expired (a conditional UPDATE); see {@link TokenStore.claim}. */
  claim(
    processor: string,
    segment: number,
    owner: string,
    claimTimeoutMs: number,
  ): Promise<TrackingToken | undefined> {
    return this.#sql.write(() => this.#claim(processor, segment, owner, claimTimeoutMs));
  }

  #claim(
    processor: string,
    segment: number,
    owner: string,
    claimTimeoutMs: number,
  ): TrackingToken | undefined {
    const now = this.#now();
    const changed = this.#sql.run(
      `UPDATE tokens SET owner = ?, claimed_at = ? WHERE processor = ? AND segment = ?
       AND (owner IS NULL OR owner = ? OR claimed_at + ? <= ?)`,
      owner,
      now,
      processor,
      segment,
      owner,
      claimTimeoutMs,
      now,
    ).changes;
    if (Number(changed) === 0) return undefined;
    const row = this.#sql.get<TokenRow>(
      "SELECT token FROM tokens WHERE processor = ? AND segment = ?",
      processor,
      segment,
    );
    return row ? JSON.parse(row.token) as TrackingToken : undefined;
  }

  #requireChange(changes: number | bigint, processor: string, segment: number, owner: string): void {
    if (Number(changes) === 0) {
      throw new ClaimError(`Segment ${segment} of "${processor}" is not claimed by "${owner}"`);
    }
  }

  /** Stores the token of a segment `owner` holds. */
  store(processor: string, segment: number, owner: string, token: TrackingToken): Promise<void> {
    return this.#sql.write(() => {
      const { changes } = this.#sql.run(
        "UPDATE tokens SET token = ?, claimed_at = ? WHERE processor = ? AND segment = ? AND owner = ?",
        JSON.stringify(token),
        this.#now(),
        processor,
        segment,
        owner,
      );
      this.#requireChange(changes, processor, segment, owner);
    });
  }

  /** Extends `owner`'s claim on a segment. */
  extend(processor: string, segment: number, owner: string): Promise<void> {
    return this.#sql.write(() => {
      const { changes } = this.#sql.run(
        "UPDATE tokens SET claimed_at = ? WHERE processor = ? AND segment = ? AND owner = ?",
        this.#now(),
        processor,
        segment,
        owner,
      );
      this.#requireChange(changes, processor, segment, owner);
    });
  }

  /** Releases `owner`'s claim on a segment. */
  async release(processor: string, segment: number, owner: string): Promise<void> {
    await this.#sql.write(() =>
      this.#sql.run(
        "UPDATE tokens SET owner = NULL WHERE processor = ? AND segment = ? AND owner = ?",
        processor,
        segment,
        owner,
      )
    );
  }

  /** Creates one segment (a split or merge result) at `token`. */
  initializeSegment(processor: string, segment: number, token: TrackingToken): Promise<void> {
    return this.#sql.write(() => {
      try {
        this.#sql.run(
          "INSERT INTO tokens (processor, segment, token) VALUES (?, ?, ?)",
          processor,
          segment,
          JSON.stringify(token),
        );
      } catch (cause) {
        throw new ClaimError(`Segment ${segment} of "${processor}" exists (${String(cause)})`);
      }
    });
  }

  /** Deletes a segment `owner` holds (the other half of a merge). */
  deleteSegment(processor: string, segment: number, owner: string): Promise<void> {
    return this.#sql.write(() => {
      const { changes } = this.#sql.run(
        "DELETE FROM tokens WHERE processor = ? AND segment = ? AND owner = ?",
        processor,
        segment,
        owner,
      );
      this.#requireChange(changes, processor, segment, owner);
    });
  }

  /** Sets every segment's token (a replay); see {@link TokenStore.reset}. */
  reset(processor: string, token: TrackingToken, owner?: string): Promise<void> {
    return this.#sql.write(() => {
      const held = this.#sql.get<{ segment: number; owner: string }>(
        "SELECT segment, owner FROM tokens WHERE processor = ? AND owner IS NOT NULL AND owner != ? LIMIT 1",
        processor,
        owner ?? "",
      );
      if (held) {
        throw new ClaimError(`Segment ${held.segment} of "${processor}" is claimed by "${held.owner}"`);
      }
      this.#sql.run("UPDATE tokens SET token = ? WHERE processor = ?", JSON.stringify(token), processor);
    });
  }

  /** Closes the database when this store opened it. */
  close(): void {
    if (this.#owned) this.#sql.close();
  }
}
