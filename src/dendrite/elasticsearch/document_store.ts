/**
 * Elasticsearch DocumentStore: one index per collection (`<prefix><collection>`), explicit mappings that need
 * only Elasticsearch's core modules (see `mappings.ts`: the words are cut by the shared `words()`, so searches
 * agree with SQLite on the minimal and the full distribution alike), the caller's ids as `_id` (derived from
 * events upstream, so replays overwrite), JSON always built by the client.
 *
 * Documents are stored under `doc` next to an `order` field (insertion order for `list()` without `orderBy`;
 * a replaced document moves to the end, unlike SQLite where it keeps its place).
 *
 * Visibility: every write is visible to every reader, in any process, when it returns — writes go out with
 * `refresh: true`. A unit of work ({@link ElasticsearchDocumentStore.unitOfWork}, one per batch of events)
 * gathers its writes and sends them as one `_bulk` request at its end, so a batch costs one request and one
 * refresh, and a query answered after the batch (e.g. right after a live update is published) sees it.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Client, estypes } from "@elastic/elasticsearch";
import {
  checkFieldName,
  type Collection,
  type CollectionOptions,
  type DocumentStore,
  type Found,
  type JsonObject,
  type ListOptions,
} from "../documents/document_store.ts";
import { ensureIndex, sendBulk, statusOf } from "./errors.ts";
import { withTransientErrors } from "./transient.ts";
import { collectionMappings, indexedWords, type StoredDocument, toSearchQuery } from "./mappings.ts";

let lastOrder = 0;
/** Increasing order values, also across stores in one process (ms × 1000 + a counter). */
function nextOrder(): number {
  lastOrder = Math.max(lastOrder + 1, Date.now() * 1000);
  return lastOrder;
}

/** The writes of a running unit of work, sent as one bulk request when it ends. */
class Unit {
  readonly operations: unknown[] = [];
  /** `index\u0000id` → the document written in this unit (null: deleted), for reads inside the unit. */
  readonly written = new Map<string, JsonObject | null>();
}

/** What a collection needs from its store. */
interface StoreContext {
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

class ElasticsearchCollection<T extends JsonObject> implements Collection<T> {
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

  /**
   * Deletes every document: with `_delete_by_query` where the server has it (the `reindex` module of a full
   * distribution), else — the minimal distribution — by reading the ids in pages and deleting them in bulk.
   */
  async clear(): Promise<void> {
    await this.#readable();
    if (this.#context.deleteByQuery !== false) {
      try {
        await this.#client.deleteByQuery({
          index: this.index,
          query: { match_all: {} },
          refresh: true,
          conflicts: "proceed",
        });
        this.#context.deleteByQuery = true;
        return;
      } catch (error) {
        if (this.#context.deleteByQuery === true || !isMissingEndpoint(error)) throw error;
        this.#context.deleteByQuery = false;
      }
    }
    for (;;) {
      const page = await this.#client.search({
        index: this.index,
        _source: false,
        sort: ["_doc"],
        size: 5_000,
      });
      if (page.hits.hits.length === 0) return;
      const operations = page.hits.hits.map((hit) => ({ delete: { _index: this.index, _id: hit._id } }));
      await sendBulk(this.#client, operations, true);
    }
  }
}

/** Options of {@link ElasticsearchDocumentStore}. */
export interface ElasticsearchDocumentStoreOptions {
  /** The Elasticsearch client to use. */
  readonly client: Client;
  /** Prepended to every collection's index name (default `dendrite-`). */
  readonly indexPrefix?: string;
}

/**
 * Query models in Elasticsearch.
 *
 * @example
 * ```ts
 * import { Client } from "@elastic/elasticsearch";
 * import { ElasticsearchDocumentStore } from "./document_store.ts";
 * const store = new ElasticsearchDocumentStore({ client: new Client({ node: Deno.env.get("ELASTICSEARCH_URL") }) });
 * const greetings = store.collection<{ message: string }>("greetings", { textFields: ["message"] });
 * await greetings.put("event-1", { message: "Hello world" });
 * ```
 */
export class ElasticsearchDocumentStore implements DocumentStore {
  readonly #client: Client;
  readonly #prefix: string;
  readonly #collections = new Map<string, ElasticsearchCollection<JsonObject>>();
  readonly #context = new AsyncLocalStorage<Unit>();
  #unit: { readonly unit: Unit; readonly done: Promise<void> } | undefined;
  readonly #store: StoreContext;

  /** A store on `options.client`: an index per collection. */
  constructor(options: ElasticsearchDocumentStoreOptions) {
    this.#client = withTransientErrors(options.client);
    this.#prefix = options.indexPrefix ?? "dendrite-";
    this.#store = {
      client: this.#client,
      current: () => {
        const unit = this.#context.getStore();
        return unit !== undefined && unit === this.#unit?.unit ? unit : undefined;
      },
      flush: (unit) => this.#flush(unit),
      deleteByQuery: undefined,
    };
  }

  /** The index of a collection; throws when the name cannot be an index name. */
  indexOf(name: string): string {
    const index = `${this.#prefix}${name}`.toLowerCase();
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(index) || index.length > 255) {
      throw new TypeError(`Collection "${name}" cannot be an Elasticsearch index name ("${index}")`);
    }
    return index;
  }

  /** The collection `name` (its index is created on first use); see {@link DocumentStore.collection}. */
  collection<T extends JsonObject>(name: string, options: CollectionOptions = {}): Collection<T> {
    let collection = this.#collections.get(name);
    if (!collection) {
      collection = new ElasticsearchCollection(this.#store, name, this.indexOf(name), options);
      this.#collections.set(name, collection);
    }
    return collection as unknown as Collection<T>;
  }

  /**
   * Runs `work` as one unit: its writes are gathered and sent as one `_bulk` request (with `refresh: true`) when
   * it resolves; the writes not sent yet are dropped when it rejects. Reads inside the unit see its writes
   * (`get` at once; `list`, `search`, `count` and `clear` send the gathered writes first, which then stay). Units run one at a time; a unit inside a unit joins
   * it. Elasticsearch has no transactions: when the bulk request fails part-way, the refused documents are named
   * in a `BulkWriteError` and the others are written (projections write idempotently, so the batch is re-run).
   */
  async unitOfWork<T>(work: () => Promise<T>): Promise<T> {
    if (this.#store.current()) return await work();
    while (this.#unit) await this.#unit.done;
    let finish!: () => void;
    const unit = new Unit();
    this.#unit = { unit, done: new Promise<void>((resolve) => (finish = resolve)) };
    try {
      const result = await this.#context.run(unit, work);
      await this.#flush(unit);
      return result;
    } finally {
      this.#unit = undefined;
      finish();
    }
  }

  async #flush(unit: Unit): Promise<void> {
    const operations = unit.operations.splice(0);
    await sendBulk(this.#client, operations, true);
  }
}
