/**
 * In-memory DocumentStore for unit tests.
 *
 * @module
 */
import {
  checkFieldName,
  type Collection,
  type CollectionOptions,
  type DocumentStore,
  type Found,
  type JsonObject,
  type ListOptions,
  parseSearch,
  words,
} from "./document_store.ts";

class InMemoryCollection<T extends JsonObject> implements Collection<T> {
  readonly name: string;
  readonly #docs = new Map<string, T>();
  readonly #textFields: readonly string[];

  constructor(name: string, options: CollectionOptions) {
    this.name = name;
    this.#textFields = (options.textFields ?? []).map(checkFieldName);
  }

  get(id: string) {
    return Promise.resolve(this.#docs.get(id));
  }

  put(id: string, document: T) {
    this.#docs.delete(id);
    this.#docs.set(id, structuredClone(document));
    return Promise.resolve();
  }

  async putMany(entries: readonly { readonly id: string; readonly document: T }[]) {
    for (const { id, document } of entries) await this.put(id, document);
  }

  delete(id: string) {
    return Promise.resolve(this.#docs.delete(id));
  }

  list(options: ListOptions = {}) {
    let found = [...this.#docs].map(([id, document]) => ({ id, document }));
    if (options.orderBy) {
      const field = checkFieldName(options.orderBy);
      const sign = options.descending ? -1 : 1;
      found = found.sort((a, b) => sign * compare(a.document[field], b.document[field]));
    } else if (options.descending) {
      found.reverse();
    }
    const offset = options.offset ?? 0;
    return Promise.resolve(found.slice(offset, offset + (options.limit ?? 100)));
  }

  search(query: string, options: { limit?: number } = {}) {
    const terms = parseSearch(query);
    const results: Found<T>[] = [];
    if (terms.phrases.length === 0 && terms.prefixes.length === 0) return Promise.resolve(results);
    for (const [id, document] of this.#docs) {
      const text = words(this.#textFields.map((f) => String(document[f] ?? "")).join(" "));
      const joined = ` ${text.join(" ")} `;
      const ok = terms.phrases.every((p) => joined.includes(` ${p.join(" ")} `)) &&
        terms.prefixes.every((p) => text.some((w) => w.startsWith(p)));
      if (ok) results.push({ id, document });
    }
    return Promise.resolve(results.slice(0, options.limit ?? 100));
  }

  count() {
    return Promise.resolve(this.#docs.size);
  }

  clear() {
    this.#docs.clear();
    return Promise.resolve();
  }
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  return (a as number | string) < (b as number | string) ? -1 : 1;
}

/**
 * Documents in Maps.
 *
 * @example
 * ```ts
 * import { InMemoryDocumentStore } from "./memory.ts";
 * const greetings = new InMemoryDocumentStore().collection<{ message: string }>("greetings", { textFields: ["message"] });
 * await greetings.put("1", { message: "Hello world" });
 * console.log(await greetings.search("hello")); // [{ id: "1", document: { message: "Hello world" } }]
 * ```
 */
export class InMemoryDocumentStore implements DocumentStore {
  readonly #collections = new Map<string, InMemoryCollection<JsonObject>>();

  /** The collection `name` in memory; see {@link DocumentStore.collection}. */
  collection<T extends JsonObject>(name: string, options: CollectionOptions = {}): Collection<T> {
    let collection = this.#collections.get(name);
    if (!collection) this.#collections.set(name, collection = new InMemoryCollection(name, options));
    return collection as unknown as Collection<T>;
  }
}
