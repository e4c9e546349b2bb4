/**
 * Elasticsearch DocumentStore: one index per collection (`<prefix><collection>`), explicit mappings (the
 * collection's text fields analysed like the shared search syntax's `words()`: letters and digits, lower-cased;
 * other strings keyword; numbers and booleans as Elasticsearch maps them), bulk writes for `putMany`, the
 * caller's ids as `_id` (derived from events upstream, so replays overwrite), JSON always built by the client.
 *
 * Documents are stored under `doc` next to an `order` field (insertion order for `list()` without `orderBy`;
 * a replaced document moves to the end, unlike SQLite where it keeps its place). Searches map the shared syntax
 * (`parseSearch`) onto `simple_query_string` with AND, phrases and prefixes only, so results agree with SQLite.
 * Reads that search (`list`, `search`, `count`) refresh the index first when this store wrote since the last
 * refresh (read-your-writes in one process); other processes' writes show within the refresh interval.
 *
 * @module
 */
import type { Client, estypes } from "@elastic/elasticsearch";
import {
  checkFieldName,
  type Collection,
  type CollectionOptions,
  type DocumentStore,
  type Found,
  type JsonObject,
  type ListOptions,
  parseSearch,
} from "../documents/document_store.ts";
import { ensureIndex, statusOf } from "./errors.ts";

/** The stored document. */
interface Stored<T> {
  doc: T;
  order: number;
}

/** The analysis settings every collection index gets: a tokenizer that splits like `words()`. */
export const ANALYSIS_SETTINGS = {
  analysis: {
    tokenizer: { dendrite_words: { type: "pattern", pattern: "[^\\p{L}\\p{N}]+" } },
    analyzer: { dendrite_text: { type: "custom", tokenizer: "dendrite_words", filter: ["lowercase"] } },
  },
} as const;

/** The mappings of a collection with the given text fields. */
export function collectionMappings(textFields: readonly string[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const field of textFields) {
    properties[field] = {
      type: "text",
      analyzer: "dendrite_text",
      fields: { keyword: { type: "keyword", ignore_above: 1024 } },
    };
  }
  return {
    dynamic_templates: [
      {
        strings: {
          path_match: "doc.*",
          match_mapping_type: "string",
          mapping: { type: "keyword", ignore_above: 1024 },
        },
      },
    ],
    properties: { order: { type: "long" }, doc: { properties } },
  };
}

/** The `simple_query_string` of a search in the shared syntax, or undefined when it has no terms. */
export function toSimpleQueryString(query: string): string | undefined {
  const { phrases, prefixes } = parseSearch(query);
  // parseSearch keeps letters and digits only, so no operator character reaches Elasticsearch.
  const parts = [...phrases.map((p) => `"${p.join(" ")}"`), ...prefixes.map((p) => `${p}*`)];
  return parts.length > 0 ? parts.join(" ") : undefined;
}

let lastOrder = 0;
/** Increasing order values, also across stores in one process (ms × 1000 + a counter). */
function nextOrder(): number {
  lastOrder = Math.max(lastOrder + 1, Date.now() * 1000);
  return lastOrder;
}

class ElasticsearchCollection<T extends JsonObject> implements Collection<T> {
  readonly name: string;
  readonly index: string;
  readonly #client: Client;
  readonly #textFields: readonly string[];
  #ready: Promise<void> | undefined;
  #dirty = false;

  constructor(client: Client, name: string, index: string, options: CollectionOptions) {
    this.#client = client;
    this.name = name;
    this.index = index;
    this.#textFields = (options.textFields ?? []).map(checkFieldName);
  }

  #ensure(): Promise<void> {
    this.#ready ??= ensureIndex(this.#client, this.index, {
      settings: ANALYSIS_SETTINGS,
      mappings: collectionMappings(this.#textFields),
    }).catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #fresh(): Promise<void> {
    await this.#ensure();
    if (!this.#dirty) return;
    this.#dirty = false;
    await this.#client.indices.refresh({ index: this.index });
  }

  async get(id: string): Promise<T | undefined> {
    await this.#ensure();
    try {
      const found = await this.#client.get<Stored<T>>({ index: this.index, id });
      return found.found && found._source ? found._source.doc : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async put(id: string, document: T): Promise<void> {
    await this.#ensure();
    this.#dirty = true;
    await this.#client.index({ index: this.index, id, document: { doc: document, order: nextOrder() } });
  }

  async putMany(entries: readonly { readonly id: string; readonly document: T }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#ensure();
    this.#dirty = true;
    const operations: unknown[] = [];
    for (const { id, document } of entries) {
      operations.push({ index: { _index: this.index, _id: id } }, { doc: document, order: nextOrder() });
    }
    const result = await this.#client.bulk({ operations });
    if (result.errors) {
      const failed = result.items.find((item) => item.index?.error)?.index;
      throw new Error(
        `Bulk write to "${this.index}" failed for "${failed?._id}": ${
          failed?.error?.reason ?? failed?.error?.type
        }`,
      );
    }
  }

  async delete(id: string): Promise<boolean> {
    await this.#ensure();
    this.#dirty = true;
    try {
      await this.#client.delete({ index: this.index, id });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  #sortField(field: string): string {
    checkFieldName(field);
    return this.#textFields.includes(field) ? `doc.${field}.keyword` : `doc.${field}`;
  }

  async list(options: ListOptions = {}): Promise<Found<T>[]> {
    await this.#fresh();
    const order: estypes.SortOrder = options.descending ? "desc" : "asc";
    const sort: estypes.SortCombinations[] = options.orderBy
      ? [{ [this.#sortField(options.orderBy)]: { order, unmapped_type: "keyword" } } as estypes.SortOptions, {
        order: { order },
      }]
      : [{ order: { order } }];
    const result = await this.#client.search<Stored<T>>({
      index: this.index,
      query: { match_all: {} },
      sort,
      from: options.offset ?? 0,
      size: options.limit ?? 100,
    });
    return result.hits.hits.flatMap((hit) =>
      hit._source ? [{ id: hit._id!, document: hit._source.doc }] : []
    );
  }

  async search(query: string, options: { readonly limit?: number } = {}): Promise<Found<T>[]> {
    const text = toSimpleQueryString(query);
    if (!text || this.#textFields.length === 0) return [];
    await this.#fresh();
    const result = await this.#client.search<Stored<T>>({
      index: this.index,
      query: {
        simple_query_string: {
          query: text,
          fields: this.#textFields.map((f) => `doc.${f}`),
          default_operator: "and",
          flags: "PHRASE|PREFIX|WHITESPACE",
        },
      },
      size: options.limit ?? 100,
    });
    return result.hits.hits.flatMap((hit) =>
      hit._source ? [{ id: hit._id!, document: hit._source.doc }] : []
    );
  }

  async count(): Promise<number> {
    await this.#fresh();
    return (await this.#client.count({ index: this.index })).count;
  }

  async clear(): Promise<void> {
    await this.#ensure();
    await this.#client.deleteByQuery({
      index: this.index,
      query: { match_all: {} },
      refresh: true,
      conflicts: "proceed",
    });
  }
}

/** Options of {@link ElasticsearchDocumentStore}. */
export interface ElasticsearchDocumentStoreOptions {
  readonly client: Client;
  /** Prepended to every collection's index name (default `dendrite-`). */
  readonly indexPrefix?: string;
}

/**
 * Query models in Elasticsearch.
 *
 * @example
 * ```ts ignore
 * import { Client } from "@elastic/elasticsearch";
 * const store = new ElasticsearchDocumentStore({ client: new Client({ node: Deno.env.get("ELASTICSEARCH_URL") }) });
 * const greetings = store.collection<{ message: string }>("greetings", { textFields: ["message"] });
 * await greetings.put("event-1", { message: "Hello world" });
 * ```
 */
export class ElasticsearchDocumentStore implements DocumentStore {
  readonly #client: Client;
  readonly #prefix: string;
  readonly #collections = new Map<string, ElasticsearchCollection<JsonObject>>();

  constructor(options: ElasticsearchDocumentStoreOptions) {
    this.#client = options.client;
    this.#prefix = options.indexPrefix ?? "dendrite-";
  }

  /** The index of a collection; throws when the name cannot be an index name. */
  indexOf(name: string): string {
    const index = `${this.#prefix}${name}`.toLowerCase();
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(index) || index.length > 255) {
      throw new TypeError(`Collection "${name}" cannot be an Elasticsearch index name ("${index}")`);
    }
    return index;
  }

  collection<T extends JsonObject>(name: string, options: CollectionOptions = {}): Collection<T> {
    let collection = this.#collections.get(name);
    if (!collection) {
      collection = new ElasticsearchCollection(this.#client, name, this.indexOf(name), options);
      this.#collections.set(name, collection);
    }
    return collection as unknown as Collection<T>;
  }
}
