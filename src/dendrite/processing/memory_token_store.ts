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

  segments(processor: string): Promise<number[]> {
    return Promise.resolve([...this.#processor(processor).keys()].sort((a, b) => a - b));
  }

  entries(processor: string): Promise<SegmentEntry[]> {
    return Promise.resolve(
      [...this.#processor(processor).entries()]
        .sort(([a], [b]) => a - b)
        .map(([segment, row]) => ({ processor, segment, ...row })),
    );
  }

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

  extend(processor: string, segment: number, owner: string): Promise<void> {
    try {
      this.#held(processor, segment, owner).claimedAt = this.#now();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  release(processor: string, segment: number, owner: string): Promise<void> {
    const row = this.#processor(processor).get(segment);
    if (row?.owner === owner) row.owner = undefined;
    return Promise.resolve();
  }

  initializeSegment(processor: string, segment: number, token: TrackingToken): Promise<void> {
    const rows = this.#processor(processor);
    if (rows.has(segment)) {
      return Promise.reject(new ClaimError(`Segment ${segment} of "${processor}" exists`));
    }
    rows.set(segment, { token, claimedAt: 0 });
    return Promise.resolve();
  }

  deleteSegment(processor: string, segment: number, owner: string): Promise<void> {
    try {
      this.#held(processor, segment, owner);
      this.#processor(processor).delete(segment);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

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
