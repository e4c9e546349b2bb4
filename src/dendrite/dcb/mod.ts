/**
 * DCB (Dynamic Consistency Boundary) in dendrite: the {@link DcbEventStore} port, its in-memory and SQLite
 * stores, and the decision model (`defineDecision`, `handleDecision`).
 *
 * @example
 * ```ts
 * import { InMemoryDcbEventStore } from "./mod.ts";
 * const store = new InMemoryDcbEventStore();
 * console.log(await store.head()); // 0
 * ```
 *
 * @module
 */
export * from "./dcb_event_store.ts";
export { InMemoryDcbEventStore } from "./memory.ts";
export { SqliteDcbEventStore, type SqliteDcbEventStoreOptions } from "./sqlite.ts";
export * from "./decision.ts";
