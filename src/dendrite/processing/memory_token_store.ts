/**
 * In-memory TokenStore for tests and single-process use.
 *
 * @module
 */
import { ClaimError } from "../core/errors.ts";
import type { SegmentEntry, TokenStore, TrackingToken } from "./token_store.ts";

interface Row {
  token: TrackingToken;
  owner?: string;
  claimedAt: number;
}

/**
 * Tokens and claims in a Map.
 *
 * @example
 * ```ts
 * import { InMemoryTokenStore } from "./memory_token_store.ts";
 * const tokens = new InMemoryTokenStore();
 * await tokens.initializeSegments("greetings", 1);
 * console.log(await tokens.claim("greetings", 0, "me", 10_000)); // { index: -1 }
 * ```
 */
export class InMemoryTokenStore implements TokenStore {
  readonly #rows = new Map<string, Map<number, Row>>();
  readonly #now: () => number;

  /** An empty store; `now` judges claim expiry (default Date.now). */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  #processor(name: string): Map<number, Row> {
    let rows = this.#rows.get(name);
    if (!rows) this.#rows.set(name, rows = new Map());
    return rows;
  }

  #held(processor: string, segment: number, owner: string): Row {
    const row = this.#processor(processor).get(segment);
    if (!row || row.owner !== owner) {
      throw new ClaimError(`Segment ${segment} of "${processor}" is not claimed by "${owner}"`);
    }
    return row;
  }

  /** Creates `count` segments when the processor has none; see {@link TokenStore.initializeSegments}. */
  initializeSegments(
    processor: string,
    count: number,
    initialToken: TrackingToken = { index: -1 },
  ): Promise<void> {
    const rows = this.#processor(processor);
    if (rows.size === 0) {
      for (let segment = 0; segment < count; segment++) {
        rows.set(segment, { token: initialToken, claimedAt: 0 });
      }
    }
    return Promise.resolve();
  }

  /** The processor's segment ids. */
  segments(processor: string): Promise<number[]> {
    return Promise.resolve([...this.#processor(processor).keys()].sort((a, b) => a - b));
  }

  /** The processor's segments with their tokens and owners. */
  entries(processor: string): Promise<SegmentEntry[]> {
    return Promise.resolve(
      [...this.#processor(processor).entries()]
        .sort(([a], [b]) => a - b)
        .map(([segment, row]) => ({ processor, segment, ...row })),
    );
  }

  /** Claims a segment for `owner` when it is free, its own, or its claim expired; see {@link TokenStore.claim}. */
  claim(
    processor: string,
    segment: number,
    owner: string,
    claimTimeoutMs: number,
  ): Promise<TrackingToken | undefined> {
    const row = this.#processor(processor).get(segment);
    if (!row) return Promise.resolve(undefined);
    const now = this.#now();
    if (row.owner && row.owner !== owner && row.claimedAt + claimTimeoutMs > now) {
      return Promise.resolve(undefined);
    }
    row.owner = owner;
    row.claimedAt = now;
    return Promise.resolve(row.token);
  }

  /** Stores the token of a segment `owner` holds. */
  store(processor: string, segment: number, owner: string, token: TrackingToken): Promise<void> {
    try {
      const row = this.#held(processor, segment, owner);
      row.token = token;
      row.claimedAt = this.#now();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Extends `owner`'s claim on a segment. */
  extend(processor: string, segment: number, owner: string): Promise<void> {
    try {
      this.#held(processor, segment, owner).claimedAt = this.#now();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Releases `owner`'s claim on a segment. */
  release(processor: string, segment: number, owner: string): Promise<void> {
    const row = this.#processor(processor).get(segment);
    if (row?.owner === owner) row.owner = undefined;
    return Promise.resolve();
  }

  /** Creates one segment (a split or merge result) at `token`. */
  initializeSegment(processor: string, segment: number, token: TrackingToken): Promise<void> {
    const rows = this.#processor(processor);
    if (rows.has(segment)) {
      return Promise.reject(new ClaimError(`Segment ${segment} of "${processor}" exists`));
    }
    rows.set(segment, { token, claimedAt: 0 });
    return Promise.resolve();
  }

  /** Deletes a segment `owner` holds (the other half of a merge). */
  deleteSegment(processor: string, segment: number, owner: string): Promise<void> {
    try {
      this.#held(processor, segment, owner);
      this.#processor(processor).delete(segment);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sets every segment's token (a replay); see {@link TokenStore.reset}. */
  reset(processor: string, token: TrackingToken, owner?: string): Promise<void> {
    const rows = this.#processor(processor);
    for (const [segment, row] of rows) {
      if (row.owner !== undefined && row.owner !== owner) {
        return Promise.reject(
          new ClaimError(`Segment ${segment} of "${processor}" is claimed by "${row.owner}"`),
        );
      }
    }
    for (const row of rows.values()) row.token = token;
    return Promise.resolve();
  }
}
