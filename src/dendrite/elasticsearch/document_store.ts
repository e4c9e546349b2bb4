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
import type { Client } from "@elastic/elasticsearch";
import type {
  Collection,
  CollectionOptions,
  DocumentStore,
  JsonObject,
} from "../documents/document_store.ts";
import { ElasticsearchCollection, type StoreContext, Unit } from "./collection.ts";
import { sendBulk } from "./errors.ts";
import { withTransientErrors } from "./transient.ts";

/**
 * Options of {@link ElasticsearchDocumentStore}.
 *
 * @example
 * ```ts
 * import { Client } from "@elastic/elasticsearch";
 * import { ElasticsearchDocumentStore, type ElasticsearchDocumentStoreOptions } from "./document_store.ts";
 * const options: ElasticsearchDocumentStoreOptions = {
 *   client: new Client({ node: "http://localhost:9200" }),
 *   indexPrefix: "greeter-",
 * };
 * const store = new ElasticsearchDocumentStore(options);
 * console.log(store.indexOf("greetings")); // greeter-greetings
 * ```
 */
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
   * (`get` at once; `list`, `search`, `count` and `clear` send the gathered writes first, which then stay). Units
   * run one at a time; a unit inside a unit joins it. Elasticsearch has no transactions: when the bulk request fails part-way, the refused documents are named
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
