/**
 * Durable commits that do not stop the event loop. At `synchronous=FULL`, SQLite fsyncs its write-ahead log inside
 * `COMMIT`, on the thread that runs JavaScript: every HTTP request, timer and stream of the process waits for the
 * disk (~0.5 ms per commit on the build machines, more on slow disks). The event store instead opens its
 * connection at `synchronous=NORMAL` (still consistent: a power cut can only lose a suffix of the commits) and
 * after each commit `fdatasync`s the log itself, on Deno's blocking-task pool ({@link WalSync}). The commit's
 * appends are confirmed, and its events shown to the store's readers, only once that sync is done
 * ({@link CommitConfirmations}); transactions committed while a sync runs share the next one.
 *
 * @module
 */
import { dirname } from "node:path";
import type { TrackedEventRecord } from "./event_store.ts";

/**
 * Makes what a database has committed so far durable.
 *
 * @example
 * ```ts
 * import type { CommitSync } from "./wal_sync.ts";
 * const none: CommitSync = { sync: () => Promise.resolve(), syncNow: () => {}, close: () => {} };
 * await none.sync();
 * ```
 */
export interface CommitSync {
  /** Syncs off the event loop. */
  sync(): Promise<void>;
  /** Syncs now, blocking (used when the store closes). */
  syncNow(): void;
  /** Lets go of the file. */
  close(): void;
}

/**
 * `fdatasync` of a WAL database's log file (`<path>-wal`). The log exists, and keeps its inode, while the
 * database has an open connection in WAL mode (SQLite deletes it when the last connection closes): open it after
 * the first commit and close it before the connection. The first sync also syncs the directory (not on Windows,
 * which has no such call), since the log may have been created by this connection.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { WalSync } from "./wal_sync.ts";
 * const path = `${await Deno.makeTempDir()}/events.sqlite`;
 * const db = new DatabaseSync(path);
 * db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; CREATE TABLE t (x)");
 * const wal = new WalSync(path);
 * db.exec("INSERT INTO t VALUES (1)");
 * await wal.sync(); // the insert is on the disk now
 * wal.close();
 * db.close();
 * ```
 */
export class WalSync implements CommitSync {
  readonly #databasePath: string;
  #log: Deno.FsFile | undefined;

  /** For the database file at `databasePath`. */
  constructor(databasePath: string) {
    this.#databasePath = databasePath;
  }

  /** `fdatasync` of the log on Deno's blocking-task pool. */
  async sync(): Promise<void> {
    await this.#open().syncData();
  }

  /** `fdatasync` of the log, blocking. */
  syncNow(): void {
    this.#open().syncDataSync();
  }

  /** Closes the log's file descriptor. */
  close(): void {
    this.#log?.close();
    this.#log = undefined;
  }

  #open(): Deno.FsFile {
    if (this.#log) return this.#log;
    const log = Deno.openSync(`${this.#databasePath}-wal`, { read: true });
    if (Deno.build.os !== "windows") { // Windows has no directory sync (nor needs one)
      using directory = Deno.openSync(dirname(this.#databasePath), { read: true });
      directory.syncSync();
    }
    this.#log = log;
    return log;
  }
}

/**
 * A committed transaction waiting for its sync: how to settle its writes (each append's result or its own
 * error), how to fail them all, and the events it stored, in token order.
 */
export interface Committed {
  /** Resolves (or rejects) each write of the transaction with its outcome. */
  readonly settle: () => void;
  /** Rejects every write of the transaction. */
  readonly fail: (error: Error) => void;
  /** The events the transaction stored (none when it held only snapshots). */
  readonly stored: readonly TrackedEventRecord[];
}

/**
 * Confirms committed transactions in commit order once they are durable: at once without a {@link CommitSync}
 * (the commit itself was durable, or nothing is: `:memory:`, `synchronous=NORMAL`), else after the sync that
 * followed them. A sync that fails fails its transactions and every later write: after a failed `fdatasync` the
 * kernel may have dropped the pages, and what the file holds is unknown until the process restarts.
 *
 * @example
 * ```ts
 * import { CommitConfirmations } from "./wal_sync.ts";
 * const confirmations = new CommitConfirmations(undefined, (events) => console.log(events.length));
 * confirmations.add({ settle: () => console.log("confirmed"), fail: () => {}, stored: [] });
 * ```
 */
export class CommitConfirmations {
  readonly #sync: CommitSync | undefined;
  readonly #confirmed: (events: readonly TrackedEventRecord[]) => void;
  /** Committed after the running sync began: the next sync covers them. */
  #waiting: Committed[] = [];
  /** Covered by the running sync. */
  #syncing: Committed[] = [];
  #running = false;
  #closed = false;
  #failure: Error | undefined;

  /**
   * Confirms through `sync` (none: at once); `confirmed` gets the events of each confirmed group of transactions,
   * after their writes are settled.
   */
  constructor(sync: CommitSync | undefined, confirmed: (events: readonly TrackedEventRecord[]) => void) {
    this.#sync = sync;
    this.#confirmed = confirmed;
  }

  /** Set once a sync failed: the store takes no more writes. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** The first token committed but not yet confirmed (readers must not see it or later ones); none when all are. */
  get pendingFrom(): number | undefined {
    for (const committed of this.#syncing) if (committed.stored.length > 0) return committed.stored[0].token;
    for (const committed of this.#waiting) if (committed.stored.length > 0) return committed.stored[0].token;
    return undefined;
  }

  /** Takes a transaction that has just committed. */
  add(committed: Committed): void {
    if (this.#failure) return committed.fail(this.#failure);
    if (!this.#sync) return this.#confirm([committed]);
    this.#waiting.push(committed);
    if (!this.#running) void this.#run(this.#sync);
  }

  /** Confirms (after a blocking sync) or fails whatever is still waiting, and lets go of the file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const rest = [...this.#syncing, ...this.#waiting];
    this.#syncing = [];
    this.#waiting = [];
    try {
      if (rest.length > 0) this.#sync?.syncNow();
      this.#confirm(rest);
    } catch (error) {
      this.#fail(rest, error);
    } finally {
      this.#sync?.close();
    }
  }

  async #run(sync: CommitSync): Promise<void> {
    this.#running = true;
    while (this.#waiting.length > 0 && !this.#closed && !this.#failure) {
      this.#syncing = this.#waiting;
      this.#waiting = [];
      try {
        await sync.sync();
      } catch (error) {
        if (this.#closed) break; // close() synced again, blocking, and settled them
        this.#fail([...this.#syncing, ...this.#waiting], error);
        break;
      }
      if (this.#closed) break;
      const group = this.#syncing;
      this.#syncing = [];
      this.#confirm(group);
    }
    this.#running = false;
  }

  #confirm(group: readonly Committed[]): void {
    if (group.length === 0) return;
    for (const committed of group) committed.settle();
    this.#confirmed(group.length === 1 ? group[0].stored : group.flatMap((committed) => committed.stored));
  }

  #fail(group: readonly Committed[], cause: unknown): void {
    this.#failure = new Error("The event store could not make its commits durable; it takes no more writes", {
      cause,
    });
    this.#syncing = [];
    this.#waiting = [];
    for (const committed of group) committed.fail(this.#failure);
  }
}
