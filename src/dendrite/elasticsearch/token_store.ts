/**
 * Elasticsearch TokenStore: one document per (processor, segment) in one index (default `dendrite-tokens`).
 * Every change is a read (real-time GET) followed by a conditional write with `if_seq_no`/`if_primary_term`, so
 * concurrent claimants never both win: the loser gets a 409 and re-reads.
 *
 * Segment ids are found by a search (refreshed by the writes that add or remove segments); everything else is
 * read with real-time GET/mget, so frequent token writes need no refresh.
 *
 * @module
 */
import type { Client } from "@elastic/elasticsearch";
import { ClaimError } from "../core/errors.ts";
import type { SegmentEntry, TokenStore, TrackingToken } from "../processing/token_store.ts";
import { ensureIndex, statusOf } from "./errors.ts";
import { withTransientErrors } from "./transient.ts";

/** The stored document. */
interface TokenDocument {
  processor: string;
  segment: number;
  token: TrackingToken;
  owner: string | null;
  claimedAt: number;
}

interface Versioned {
  readonly doc: TokenDocument;
  readonly seqNo: number;
  readonly primaryTerm: number;
}

const MAPPINGS = {
  dynamic: "strict",
  properties: {
    processor: { type: "keyword" },
    segment: { type: "integer" },
    owner: { type: "keyword" },
    claimedAt: { type: "long" },
    token: {
      properties: {
        index: { type: "long" },
        replayUntil: { type: "long" },
        mergedUpper: { type: "long" },
        mergedUpperSegment: { type: "integer" },
        mergedUpperMask: { type: "integer" },
      },
    },
  },
} as const;

/** How often a conditional write is retried after losing a race before giving up. */
const ATTEMPTS = 8;

/**
 * Options of {@link ElasticsearchTokenStore}.
 *
 * @example
 * ```ts
 * import { Client } from "@elastic/elasticsearch";
 * import { ElasticsearchTokenStore, type ElasticsearchTokenStoreOptions } from "./mod.ts";
 * const options: ElasticsearchTokenStoreOptions = {
 *   client: new Client({ node: Deno.env.get("ELASTICSEARCH_URL") }),
 *   index: "greeter-tokens",
 * };
 * const tokens = new ElasticsearchTokenStore(options);
 * ```
 */
export interface ElasticsearchTokenStoreOptions {
  /** The Elasticsearch client to use. */
  readonly client: Client;
  /** The index (default `dendrite-tokens`). */
  readonly index?: string;
  /** The clock claims are stamped with (default Date.now). */
  readonly now?: () => number;
}

/** Keeps only the token fields that are set (stored documents may carry nulls). */
function cleanToken(token: TrackingToken): TrackingToken {
  const clean: { -readonly [K in keyof TrackingToken]: TrackingToken[K] } = { index: token.index };
  if (typeof token.replayUntil === "number") clean.replayUntil = token.replayUntil;
  if (typeof token.mergedUpper === "number") clean.mergedUpper = token.mergedUpper;
  if (typeof token.mergedUpperSegment === "number") clean.mergedUpperSegment = token.mergedUpperSegment;
  if (typeof token.mergedUpperMask === "number") clean.mergedUpperMask = token.mergedUpperMask;
  return clean;
}

/**
 * Tokens and claims in Elasticsearch.
 *
 * @example
 * ```ts
 * import { Client } from "@elastic/elasticsearch";
 * import { ElasticsearchTokenStore } from "./token_store.ts";
 * const tokens = new ElasticsearchTokenStore({ client: new Client({ node: Deno.env.get("ELASTICSEARCH_URL") }) });
 * await tokens.initializeSegments("greetings", 4);
 * ```
 */
export class ElasticsearchTokenStore implements TokenStore {
  readonly #client: Client;
  readonly #index: string;
  readonly #now: () => number;
  #ready: Promise<void> | undefined;

  /** A token store on `options.client` (one index for every processor). */
  constructor(options: ElasticsearchTokenStoreOptions) {
    this.#client = withTransientErrors(options.client);
    this.#index = options.index ?? "dendrite-tokens";
    this.#now = options.now ?? Date.now;
  }

  /** The index name. */
  get index(): string {
    return this.#index;
  }

  #ensure(): Promise<void> {
    this.#ready ??= ensureIndex(this.#client, this.#index, { mappings: MAPPINGS }).catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  #id(processor: string, segment: number): string {
    return `${processor}:${segment}`;
  }

  async #read(processor: string, segment: number): Promise<Versioned | undefined> {
    await this.#ensure();
    try {
      const found = await this.#client.get<TokenDocument>({
        index: this.#index,
        id: this.#id(processor, segment),
      });
      if (
        !found.found || !found._source || found._seq_no === undefined || found._primary_term === undefined
      ) {
        return undefined;
      }
      return { doc: found._source, seqNo: found._seq_no, primaryTerm: found._primary_term };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** A conditional write; false when someone else changed the document first. */
  async #write(current: Versioned, doc: TokenDocument): Promise<boolean> {
    try {
      await this.#client.index({
        index: this.#index,
        id: this.#id(doc.processor, doc.segment),
        document: doc,
        if_seq_no: current.seqNo,
        if_primary_term: current.primaryTerm,
        refresh: false,
      });
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  /** Re-reads and retries `change` until its conditional write wins. */
  async #update(
    processor: string,
    segment: number,
    change: (current: Versioned) => TokenDocument | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.#read(processor, segment);
      if (!current) return false;
      const next = change(current);
      if (!next) return false;
      if (await this.#write(current, next)) return true;
    }
    throw new ClaimError(`Segment ${segment} of "${processor}" is changing too often to update`);
  }

  #notHeld(processor: string, segment: number, owner: string): ClaimError {
    return new ClaimError(`Segment ${segment} of "${processor}" is not claimed by "${owner}"`);
  }

  /** Creates `count` segments when the processor has none; see {@link TokenStore.initializeSegments}. */
  async initializeSegments(
    processor: string,
    count: number,
    initialToken: TrackingToken = { index: -1 },
  ): Promise<void> {
    if ((await this.segments(processor)).length > 0) return;
    const operations = [];
    for (let segment = 0; segment < count; segment++) {
      const document: TokenDocument = { processor, segment, token: initialToken, owner: null, claimedAt: 0 };
      operations.push({ create: { _index: this.#index, _id: this.#id(processor, segment) } }, document);
    }
    const result = await this.#client.bulk({ operations, refresh: true });
    for (const item of result.items) {
      const outcome = item.create;
      // 409: another process initialized the same segment at the same time.
      if (outcome?.error && outcome.status !== 409) {
        throw new Error(
          `Initializing segments of "${processor}" failed: ${outcome.error.reason ?? outcome.error.type}`,
        );
      }
    }
  }

  /** The processor's segment ids. */
  async segments(processor: string): Promise<number[]> {
    await this.#ensure();
    const result = await this.#client.search<Pick<TokenDocument, "segment">>({
      index: this.#index,
      query: { term: { processor } },
      _source: ["segment"],
      sort: [{ segment: "asc" }],
      size: 10_000,
    });
    return result.hits.hits.flatMap((hit) => hit._source ? [hit._source.segment] : []);
  }

  /** The processor's segments with their tokens and owners. */
  async entries(processor: string): Promise<SegmentEntry[]> {
    const segments = await this.segments(processor);
    if (segments.length === 0) return [];
    const result = await this.#client.mget<TokenDocument>({
      index: this.#index,
      ids: segments.map((segment) => this.#id(processor, segment)),
    });
    const entries: SegmentEntry[] = [];
    for (const doc of result.docs) {
      if (!("found" in doc) || !doc.found || !doc._source) continue;
      const source = doc._source;
      entries.push({
        processor,
        segment: source.segment,
        token: cleanToken(source.token),
        owner: source.owner ?? undefined,
        claimedAt: source.claimedAt,
      });
    }
    return entries;
  }

  /** Claims a segment for `owner` when it is free, its own, or its claim expired; see {@link TokenStore.claim}. */
  async claim(
    processor: string,
    segment: number,
    owner: string,
    claimTimeoutMs: number,
  ): Promise<TrackingToken | undefined> {
    let token: TrackingToken | undefined;
    const now = this.#now();
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.#read(processor, segment);
      if (!current) return undefined;
      const { doc } = current;
      if (doc.owner !== null && doc.owner !== owner && doc.claimedAt + claimTimeoutMs > now) return undefined;
      token = cleanToken(doc.token);
      if (await this.#write(current, { ...doc, owner, claimedAt: now })) return token;
    }
    return undefined;
  }

  /** Stores the token of a segment `owner` holds. */
  async store(processor: string, segment: number, owner: string, token: TrackingToken): Promise<void> {
    const stored = await this.#update(
      processor,
      segment,
      ({ doc }) => doc.owner === owner ? { ...doc, token, claimedAt: this.#now() } : undefined,
    );
    if (!stored) throw this.#notHeld(processor, segment, owner);
  }

  /** Extends `owner`'s claim on a segment. */
  async extend(processor: string, segment: number, owner: string): Promise<void> {
    const extended = await this.#update(
      processor,
      segment,
      ({ doc }) => doc.owner === owner ? { ...doc, claimedAt: this.#now() } : undefined,
    );
    if (!extended) throw this.#notHeld(processor, segment, owner);
  }

  /** Releases `owner`'s claim on a segment. */
  async release(processor: string, segment: number, owner: string): Promise<void> {
    await this.#update(
      processor,
      segment,
      ({ doc }) => doc.owner === owner ? { ...doc, owner: null } : undefined,
    );
  }

  /** Creates one segment (a split or merge result) at `token`. */
  async initializeSegment(processor: string, segment: number, token: TrackingToken): Promise<void> {
    await this.#ensure();
    try {
      await this.#client.create({
        index: this.#index,
        id: this.#id(processor, segment),
        document: { processor, segment, token, owner: null, claimedAt: 0 } satisfies TokenDocument,
        refresh: true,
      });
    } catch (error) {
      if (statusOf(error) === 409) throw new ClaimError(`Segment ${segment} of "${processor}" exists`);
      throw error;
    }
  }

  /** Deletes a segment `owner` holds (the other half of a merge). */
  async deleteSegment(processor: string, segment: number, owner: string): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.#read(processor, segment);
      if (!current || current.doc.owner !== owner) throw this.#notHeld(processor, segment, owner);
      try {
        await this.#client.delete({
          index: this.#index,
          id: this.#id(processor, segment),
          if_seq_no: current.seqNo,
          if_primary_term: current.primaryTerm,
          refresh: true,
        });
        return;
      } catch (error) {
        if (statusOf(error) !== 409) throw error;
      }
    }
    throw new ClaimError(`Segment ${segment} of "${processor}" is changing too often to delete`);
  }

  /**
   * Resets every segment to `token`. Each segment is checked and written conditionally; a segment claimed by
   * another owner stops the reset with a `ClaimError` before anything is written.
   */
  async reset(processor: string, token: TrackingToken, owner?: string): Promise<void> {
    const rows: Versioned[] = [];
    for (const segment of await this.segments(processor)) {
      const current = await this.#read(processor, segment);
      if (!current) continue;
      if (current.doc.owner !== null && current.doc.owner !== owner) {
        throw new ClaimError(`Segment ${segment} of "${processor}" is claimed by "${current.doc.owner}"`);
      }
      rows.push(current);
    }
    for (const current of rows) {
      if (await this.#write(current, { ...current.doc, token })) continue;
      const changed = await this.#update(
        processor,
        current.doc.segment,
        ({ doc }) => doc.owner === null || doc.owner === owner ? { ...doc, token } : undefined,
      );
      if (!changed) {
        throw new ClaimError(`Segment ${current.doc.segment} of "${processor}" was claimed meanwhile`);
      }
    }
  }
}
