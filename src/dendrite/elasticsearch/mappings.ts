/**
 * How a collection's documents look in Elasticsearch, and how the shared search syntax becomes a query.
 *
 * The words are cut here, not by an Elasticsearch tokenizer: a document's text fields go through the same
 * `words()` the search syntax uses (letters and digits of any script, lower-cased), and the words are stored
 * space-separated in one field (`words`) analysed by the built-in `whitespace` analyzer. That analyzer is in
 * every Elasticsearch distribution — also the minimal one without `analysis-common` (no `pattern` tokenizer) —
 * and it cannot split a word differently from SQLite, so searches match alike on both adapters. The text fields
 * are joined in the order they are declared, as the SQLite adapter indexes them, so a phrase may run from one
 * field into the next on both.
 *
 * @module
 */
import type { estypes } from "@elastic/elasticsearch";
import { type JsonObject, parseSearch, words } from "../documents/document_store.ts";

/** The stored form of a document: the document, its insertion order, and its indexed words. */
export interface StoredDocument<T extends JsonObject> {
  readonly doc: T;
  readonly order: number;
  /** Space-separated `words()` of the text fields (absent when the collection has none). */
  readonly words?: string;
}

/** The field that holds the indexed words. */
export const WORDS_FIELD = "words";

/** The analyzer of {@link WORDS_FIELD}: built into every distribution (no `analysis-common` needed). */
export const WORDS_ANALYZER = "whitespace";

/**
 * The mappings of every collection index: the document's strings as keywords (sortable; never analysed), its
 * numbers as doubles (so an integer first and a fraction later do not collide), the words as text.
 *
 * @example
 * ```ts
 * import { collectionMappings } from "./mappings.ts";
 * const mappings = collectionMappings(); // for an index created ahead of the store
 * ```
 */
export function collectionMappings(): estypes.MappingTypeMapping {
  return {
    date_detection: false,
    dynamic_templates: [
      {
        strings: {
          path_match: "doc.*",
          match_mapping_type: "string",
          mapping: { type: "keyword", ignore_above: 1024 },
        },
      },
      { integers: { path_match: "doc.*", match_mapping_type: "long", mapping: { type: "double" } } },
    ],
    _source: { excludes: [WORDS_FIELD] },
    properties: {
      order: { type: "long" },
      [WORDS_FIELD]: { type: "text", analyzer: WORDS_ANALYZER },
      doc: { type: "object" },
    },
  };
}

/** The indexed words of a document: its text fields' strings joined as SQLite joins them, then `words()`. */
export function indexedWords(document: JsonObject, textFields: readonly string[]): string {
  const text = textFields.map((field) => document[field]).filter((value) => typeof value === "string");
  return words(text.join("\n")).join(" ");
}

/**
 * The Elasticsearch query of a search in the shared syntax (every phrase and every prefix must match), or
 * undefined when it has no terms. Only letters and digits reach Elasticsearch, never a query syntax.
 */
export function toSearchQuery(query: string): estypes.QueryDslQueryContainer | undefined {
  const { phrases, prefixes } = parseSearch(query);
  const must: estypes.QueryDslQueryContainer[] = [
    ...phrases.map((phrase) => ({ match_phrase: { [WORDS_FIELD]: phrase.join(" ") } })),
    ...prefixes.map((prefix) => ({ prefix: { [WORDS_FIELD]: prefix } })),
  ];
  return must.length > 0 ? { bool: { must } } : undefined;
}
