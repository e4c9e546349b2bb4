/**
 * The projection role's stores, chosen by the composition root (`wiring.ts`): SQLite under the data
 * directory, or Elasticsearch when `ELASTICSEARCH_URL` is set.
 *
 * @module
 */
import { Client } from "@elastic/elasticsearch";
import { join } from "node:path";
import type { DeadLetterQueue, DocumentStore, TokenStore } from "../dendrite/mod.ts";
import {
  Sqlite,
  SqliteDeadLetterQueue,
  SqliteDocumentStore,
  SqliteTokenStore,
  type Synchronous,
} from "../dendrite/sqlite/mod.ts";
import { ElasticsearchDocumentStore, ElasticsearchTokenStore } from "../dendrite/elasticsearch/mod.ts";
import type { Config } from "../config.ts";
import type { Closer } from "./closers.ts";

/** What {@link openQueryStores} reads from the configuration. */
export type QueryStoresConfig =
  & Pick<Config, "dataDir" | "elasticsearchUrl" | "elasticsearchIndexPrefix">
  & Partial<Pick<Config, "elasticsearchRequestTimeoutMs">>;

/** The projection role's stores and how to close them. */
export interface QueryStores {
  readonly tokenStore: TokenStore;
  readonly documentStore: DocumentStore;
  readonly deadLetters: DeadLetterQueue;
  /** True when tokens and the model commit in one transaction (one SQLite database). */
  readonly shared: boolean;
  readonly close: Closer;
}

/**
 * The projection's query model, token store and dead letters: SQLite under the data directory, or Elasticsearch
 * (its dead letters then in their own SQLite file under the data directory). A dead letter is never lost while the
 * token that passed its event stands: in one SQLite file they go back together on a power cut (each commit there
 * is consistent, and the file needs no fsync of its own), while beside Elasticsearch the dead letters' file is
 * synced at every commit (`synchronous`).
 */
export function openQueryStores(
  config: QueryStoresConfig,
  synchronous: Synchronous | undefined,
): QueryStores {
  if (config.elasticsearchUrl) {
    // A bounded request time, so a hung server shows as an error (and a back-off) rather than a stall.
    const requestTimeout = config.elasticsearchRequestTimeoutMs ?? 30_000;
    const client = new Client({ node: config.elasticsearchUrl.href, requestTimeout });
    const indexPrefix = config.elasticsearchIndexPrefix ?? "dendrite-";
    const letters = new Sqlite(join(config.dataDir, "dead-letters.sqlite"), { synchronous });
    return {
      tokenStore: new ElasticsearchTokenStore({ client, index: `${indexPrefix}tokens` }),
      documentStore: new ElasticsearchDocumentStore({ client, indexPrefix }),
      deadLetters: new SqliteDeadLetterQueue({ sqlite: letters }),
      shared: false,
      close: async () => {
        letters.close();
        await client.close();
      },
    };
  }
  // The model, its tokens and its dead letters commit together in this one file, and all of it follows from the
  // events (durable in the event store first): a power cut can only take the last transactions back, as if the
  // projection had stopped a little earlier, and it handles those events again. So no fsync per commit here.
  const sqlite = new Sqlite(join(config.dataDir, "query.sqlite"), { synchronous: "NORMAL" });
  return {
    tokenStore: new SqliteTokenStore({ sqlite }),
    documentStore: new SqliteDocumentStore({ sqlite }),
    deadLetters: new SqliteDeadLetterQueue({ sqlite }),
    shared: true,
    close: () => sqlite.close(),
  };
}

/**
 * The projection's claim owner: stable across restarts of the same process (role, host name, data directory), so a
 * restart takes its own segments back at once instead of waiting for its old claims to expire.
 */
export async function processorOwner(dataDir: string): Promise<string> {
  return `projection@${Deno.hostname()}:${await Deno.realPath(dataDir)}`;
}
