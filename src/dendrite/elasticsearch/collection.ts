/**
 * One collection of the Elasticsearch DocumentStore: an index, documents stored under `doc` next to an `order`
 * field (and the `words` of its text fields), writes gathered by the caller's unit of work or sent at once with
 * `refresh: true`.
 *
 * @module
 */
import type { Client, estypes } from "@elastic/elasticsearch";
import {
  checkFieldName,
  type Collection,
  type CollectionOptions,
  type Found,
  type JsonObject,
  type ListOptions,
} from "../documents/document_store.ts";
import { ensureIndex, sendBulk, statusOf } from "./errors.ts";
import { collectionMappings, indexedWords, type StoredDocument, toSearchQuery } from "./mappings.ts";

let lastOrder = 0;
/** Increasing order values, also across stores in one process (ms × 1000 + a counter). */
function nextOrder(): number {
  lastOrder = Math.max(lastOrder + 1, Date.now() * 1000);
  return lastOrder;
}

/** The writes of a running unit of work, sent as one bulk request when it ends. */
export class Unit {
  readonly operations: unknown[] = [];
  /** `index\u0000id` → the document written in this unit (null: deleted), for reads inside the unit. */
  readonly written = new Map<string, JsonObject | null>();
}

/**
 * What a collection needs from its store.
 *
 * @example
 * ```ts
 * import { Client } from "@elastic/elasticsearch";
 * import type { StoreContext, Unit } from "./collection.ts";
 * const context: StoreContext = {
 *   client: new Client({ node: "http://localhost:9200" }),
 *   current: (): Unit | undefined => undefined,
 *   flush: () => Promise.resolve(),
 *   deleteByQuery: undefined,
 * };
 * console.log(context.deleteByQuery);
 * ```
 */
export interface StoreContext {
  readonly client: Client;
  /** The unit of work the caller runs in, if any. */
  current(): Unit | undefined;
  /** Sends the current unit's writes now (before a read that must see them). */
  flush(unit: Unit): Promise<void>;
  /** Whether the server has `_delete_by_query` (undefined: not known yet). */
  deleteByQuery: boolean | undefined;
}

/** The server has no such endpoint (a module the minimal distribution leaves out). */
function isMissingEndpoint(error: unknown): boolean {
  const status = statusOf(error);
  return (status === 400 || status === 404 || status === 405) && String(error).includes("no handler found");
}

const key = (index: string, id: string) => `${index}\u0000${id}`;

/** A collection in its own index. */
export class ElasticsearchCollection<T extends JsonObject> implements Collection<T> {
  readonly name: string;
  readonly index: string;
  readonly #context: StoreContext;
  readonly #textFields: readonly string[];
  #ready: Promise<void> | undefined;

  constructor(context: StoreContext, name: string, index: string, options: CollectionOptions) {
    this.#context = context;
    this.name = name;
    this.index = index;
    this.#textFields = (options.textFields ?? []).map(checkFieldName);
  }

  get #client(): Client {
    return this.#context.client;
  }

  #ensure(): Promise<void> {
    this.#ready ??= ensureIndex(this.#client, this.index, { mappings: collectionMappings() }).catch(
      (error) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  /** Index and read ready: the current unit's writes are sent first, so a read inside a unit sees them. */
  async #readable(): Promise<void> {
    await this.#ensure();
    const unit = this.#context.current();
    if (unit) await this.#context.flush(unit);
  }

  #stored(document: T): StoredDocument<T> {
    const stored = { doc: document, order: nextOrder() };
    return this.#textFields.length > 0
      ? { ...stored, words: indexedWords(document, this.#textFields) }
      : stored;
  }

  async get(id: string): Promise<T | undefined> {
    const written = this.#context.current()?.written.get(key(this.index, id));
    if (written !== undefined) return written === null ? undefined : written as T;
    await this.#ensure();
    try {
      const found = await this.#client.get<StoredDocument<T>>({ index: this.index, id });
      return found.found && found._source ? found._source.doc : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  put(id: string, document: T): Promise<void> {
    return this.putMany([{ id, document }]);
  }

  async putMany(entries: readonly { readonly id: string; readonly document: T }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#ensure();
    const unit = this.#context.current();
    const operations = unit?.operations ?? [];
    for (const { id, document } of entries) {
      operations.push({ index: { _index: this.index, _id: id } }, this.#stored(document));
      unit?.written.set(key(this.index, id), document);
    }
    if (!unit) await sendBulk(this.#client, operations, true);
  }

  async delete(id: string): Promise<boolean> {
    await this.#ensure();
    const unit = this.#context.current();
    if (unit) {
      const existed = (await this.get(id)) !== undefined;
      unit.operations.push({ delete: { _index: this.index, _id: id } });
      unit.written.set(key(this.index, id), null);
      return existed;
    }
    try {
      await this.#client.delete({ index: this.index, id, refresh: true });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async list(options: ListOptions = {}): Promise<Found<T>[]> {
    await this.#readable();
    const order: estypes.SortOrder = options.descending ? "desc" : "asc";
    const sort: estypes.SortCombinations[] = [{ order: { order } }];
    if (options.orderBy) {
      const field = `doc.${checkFieldName(options.orderBy)}`;
      sort.unshift({ [field]: { order, unmapped_type: "keyword" } });
    }
    return await this.#hits({
      query: { match_all: {} },
      sort,
      from: options.offset ?? 0,
      size: options.limit,
    });
  }

  async search(query: string, options: { readonly limit?: number } = {}): Promise<Found<T>[]> {
    const text = toSearchQuery(query);
    if (!text || this.#textFields.length === 0) return [];
    await this.#readable();
    return await this.#hits({ query: text, size: options.limit });
  }

  async #hits(request: Omit<estypes.SearchRequest, "index">): Promise<Found<T>[]> {
    const result = await this.#client.search<StoredDocument<T>>({
      ...request,
      index: this.index,
      size: request.size ?? 100,
    });
    return result.hits.hits.flatMap((hit) =>
      hit._source ? [{ id: hit._id!, document: hit._source.doc }] : []
    );
  }

  async count(): Promise<number> {
    await this.#readable();
    return (await this.#client.count({ index: this.index })).count;
  }

  /** Deletes every document (see {@link clearIndex}). */
  async clear(): Promise<void> {
    await this.#readable();
    await clearIndex(this.#context, this.index);
  }
}

/**
 * Deletes every document of `index`: with `_delete_by_query` where the server has it (the `reindex` module of a full
 * distribution), else — the minimal distribution — by reading the ids in pages and deleting them in bulk.
 */
async function clearIndex(context: StoreContext, index: string): Promise<void> {
  const client = context.client;
  if (context.deleteByQuery !== false) {
    try {
      await client.deleteByQuery({ index, query: { match_all: {} }, refresh: true, conflicts: "proceed" });
      context.deleteByQuery = true;
      return;
    } catch (error) {
      if (context.deleteByQuery === true || !isMissingEndpoint(error)) throw error;
      context.deleteByQuery = false;
    }
  }
  for (;;) {
    const page = await client.search({ index, _source: false, sort: ["_doc"], size: 5_000 });
    if (page.hits.hits.length === 0) return;
    const operations = page.hits.hits.map((hit) => ({ delete: { _index: index, _id: hit._id } }));
    await sendBulk(client, operations, true);
  }
}
