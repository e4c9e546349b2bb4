/**
 * dendrite's SQLite adapters on `node:sqlite` (a separate entry point, so programs that do not use SQLite never
 * load it): the EventStore, TokenStore, DocumentStore, DeadLetterQueue and DCB event store, and the shared
 * {@link Sqlite} connection they can share, so a projection's token and its query model commit together.
 *
 * @example
 * ```ts
 * import { Sqlite, SqliteDocumentStore, SqliteEventStore, SqliteTokenStore } from "./mod.ts";
 * const eventStore = new SqliteEventStore({ path: ":memory:" });
 * // The projection's tokens and its query model in one file, so they can commit together:
 * const sqlite = new Sqlite(":memory:");
 * const tokenStore = new SqliteTokenStore({ sqlite });
 * const documentStore = new SqliteDocumentStore({ sqlite });
 * console.log(await tokenStore.segments("greetings")); // []
 * documentStore.close();
 * eventStore.close();
 * sqlite.close();
 * ```
 *
 * @module
 */
export { CHECKPOINT_PAGES, type OpenOptions, Sqlite, type Synchronous } from "./database.ts";
export { SqliteEventStore, type SqliteEventStoreOptions } from "../eventstore/sqlite.ts";
export { DurableHead } from "../eventstore/durable_head.ts";
export { DEFAULT_RECENT_EVENTS, type RecentEventsLimits } from "../eventstore/recent_events.ts";
export { SqliteTokenStore, type SqliteTokenStoreOptions } from "../processing/sqlite_token_store.ts";
export { SqliteDocumentStore, type SqliteDocumentStoreOptions } from "../documents/sqlite.ts";
export {
  SqliteDeadLetterQueue,
  type SqliteDeadLetterQueueOptions,
} from "../processing/sqlite_dead_letter.ts";
export { SqliteDcbEventStore, type SqliteDcbEventStoreOptions } from "../dcb/sqlite.ts";
