/**
 * The DocumentStore port: the query models projections write and query handlers read. Documents are JSON
 * objects in named collections; collections may declare text fields for full-text search.
 *
 * Search syntax (the same for every adapter): whitespace-separated terms that must all match, `"quoted phrases"`,
 * and `prefix*`. Matching ignores case. Anything else is taken literally, so user input never breaks a query.
 *
 * @module
 */

/**
 * A JSON value.
 *
 * @example
 * ```ts
 * import type { JsonValue } from "../mod.ts";
 * const value: JsonValue = { tags: ["a", "b"], count: 2, archived: false, parent: null };
 * ```
 */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | {
  readonly [key: string]: JsonValue;
};

/**
 * A document: a JSON object.
 *
 * @example
 * ```ts
 * import { InMemoryDocumentStore, type JsonObject } from "../mod.ts";
 * interface Greeting extends JsonObject {
 *   readonly message: string;
 *   readonly at: number;
 * }
 * const greetings = new InMemoryDocumentStore().collection<Greeting>("greetings");
 * await greetings.put("1", { message: "Hello", at: Date.now() });
 * ```
 */
export type JsonObject = { readonly [key: string]: JsonValue };

/**
 * Options of a collection.
 *
 * @example
 * ```ts
 * import { type CollectionOptions, InMemoryDocumentStore } from "../mod.ts";
 * const options: CollectionOptions = { textFields: ["message"] }; // searchable with `search()`
 * const greetings = new InMemoryDocumentStore().collection<{ message: string }>("greetings", options);
 * await greetings.put("1", { message: "Hello world" });
 * console.log((await greetings.search("wor*")).length); // 1
 * ```
 */
export interface CollectionOptions {
  /** Top-level string fields indexed for full-text search. */
  readonly textFields?: readonly string[];
}

/**
 * How to list documents.
 *
 * @example
 * ```ts
 * import { InMemoryDocumentStore, type ListOptions } from "../mod.ts";
 * const greetings = new InMemoryDocumentStore().collection<{ message: string; at: number }>("greetings");
 * // The second page of ten, newest first:
 * const options: ListOptions = { orderBy: "at", descending: true, limit: 10, offset: 10 };
 * const page = await greetings.list(options);
 * ```
 */
export interface ListOptions {
  /** A top-level field to sort by (default: insertion order). */
  readonly orderBy?: string;
  /** Sort in descending order (default ascending). */
  readonly descending?: boolean;
  /** At most this many (default 100). */
  readonly limit?: number;
  /** Skip this many first (default 0). */
  readonly offset?: number;
}

/**
 * A document with its id (and relevance for search results: lower is better for SQLite bm25; higher for ES).
 *
 * @example
 * ```ts
 * import { type Found, InMemoryDocumentStore } from "../mod.ts";
 * const greetings = new InMemoryDocumentStore().collection<{ message: string }>("greetings");
 * await greetings.put("1", { message: "Hello" });
 * const found: Found<{ message: string }>[] = await greetings.list();
 * console.log(found.map(({ id, document }) => `${id}: ${document.message}`)); // ["1: Hello"]
 * ```
 */
export interface Found<T extends JsonObject> {
  /** The document's id in its collection. */
  readonly id: string;
  /** The document. */
  readonly document: T;
}

/**
 * One collection of documents.
 *
 * @example
 * ```ts
 * import { type Collection, InMemoryDocumentStore } from "../mod.ts";
 * const greetings: Collection<{ message: string }> = new InMemoryDocumentStore().collection("greetings");
 * await greetings.putMany([
 *   { id: "1", document: { message: "Hello" } },
 *   { id: "2", document: { message: "Hi" } },
 * ]);
 * console.log(await greetings.get("2")); // { message: "Hi" }
 * console.log(await greetings.delete("1"), await greetings.count()); // true 1
 * ```
 */
export interface Collection<T extends JsonObject> {
  /** The collection's name. */
  readonly name: string;
  /** The document with this id, undefined when there is none. */
  get(id: string): Promise<T | undefined>;
  /** Inserts or replaces: writing the same id twice is idempotent (projections replay safely). */
  put(id: string, document: T): Promise<void>;
  /** Inserts or replaces many in one round trip / transaction. */
  putMany(entries: readonly { readonly id: string; readonly document: T }[]): Promise<void>;
  /** Removes a document; true when it existed. */
  delete(id: string): Promise<boolean>;
  /** A page of documents (see {@link ListOptions}). */
  list(options?: ListOptions): Promise<Found<T>[]>;
  /** Full-text search over the collection's text fields, best match first. */
  search(query: string, options?: { readonly limit?: number }): Promise<Found<T>[]>;
  /** How many documents the collection holds. */
  count(): Promise<number>;
  /** Removes every document (used before a replay from zero). */
  clear(): Promise<void>;
}

/**
 * The document store port.
 *
 * @example
 * ```ts
 * import { InMemoryDocumentStore } from "./memory.ts";
 * import type { DocumentStore } from "./document_store.ts";
 * const store: DocumentStore = new InMemoryDocumentStore();
 * const greetings = store.collection<{ message: string }>("greetings", { textFields: ["message"] });
 * await greetings.put("1", { message: "Hello world" });
 * console.log(await greetings.count()); // 1
 * ```
 */
export interface DocumentStore {
  /** The collection `name`, created on first use; `options` take effect when it is created. */
  collection<T extends JsonObject>(name: string, options?: CollectionOptions): Collection<T>;
  /**
   * Optional: runs `work` as one unit whose writes commit together (SQLite: one transaction). Stores without
   * transactions leave it out; callers then run `work` directly.
   */
  unitOfWork?<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * A parsed search: phrases (exact word sequences) and prefixes, all of which must match.
 *
 * @example
 * ```ts
 * import type { SearchTerms } from "../mod.ts";
 * // What the search `"hello world" gree*` means to an adapter:
 * const terms: SearchTerms = { phrases: [["hello", "world"]], prefixes: ["gree"] };
 * ```
 */
export interface SearchTerms {
  /** Exact word sequences (a quoted phrase, or a single word). */
  readonly phrases: readonly string[][];
  /** Word prefixes (`hel*`). */
  readonly prefixes: readonly string[];
}

/** Lower-cased words of a text (letters and digits, any script). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Parses the search syntax above. Shared by the adapters so they agree. */
export function parseSearch(query: string): SearchTerms {
  const phrases: string[][] = [];
  const prefixes: string[] = [];
  for (const match of query.matchAll(/"([^"]*)"?|(\S+)/g)) {
    if (match[1] !== undefined) {
      const phrase = words(match[1]);
      if (phrase.length > 0) phrases.push(phrase);
      continue;
    }
    const raw = match[2];
    const parts = words(raw);
    if (parts.length === 0) continue;
    if (raw.endsWith("*")) {
      phrases.push(...parts.slice(0, -1).map((w) => [w]));
      prefixes.push(parts[parts.length - 1]);
    } else {
      phrases.push(parts);
    }
  }
  return { phrases, prefixes };
}

/** Rejects field names that are not plain identifiers (they end up in queries). */
export function checkFieldName(field: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) throw new TypeError(`Invalid field name "${field}"`);
  return field;
}
