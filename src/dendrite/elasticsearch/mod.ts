/**
 * dendrite's Elasticsearch adapters (a separate entry point, so programs that do not use Elasticsearch never
 * load its client): the TokenStore and the DocumentStore.
 *
 * @example
 * ```ts
 * import { Client } from "@elastic/elasticsearch";
 * import { ElasticsearchDocumentStore, ElasticsearchTokenStore } from "./mod.ts";
 * const client = new Client({ node: Deno.env.get("ELASTICSEARCH_URL") });
 * const tokenStore = new ElasticsearchTokenStore({ client });
 * const documentStore = new ElasticsearchDocumentStore({ client });
 * ```
 *
 * @module
 */
export { ElasticsearchTokenStore, type ElasticsearchTokenStoreOptions } from "./token_store.ts";
export { ElasticsearchDocumentStore, type ElasticsearchDocumentStoreOptions } from "./document_store.ts";
export { collectionMappings } from "./mappings.ts";
export { BulkWriteError, type RejectedWrite } from "./errors.ts";
