/**
 * The TokenStore port: where tracking processors keep their progress, one token per (processor, segment), and
 * claims so that several processes can share a processor's segments (the Axon Framework model).
 *
 * A token is the global token of the last processed event (-1: nothing processed yet). A claim is held by an
 * owner and expires when not extended within the claim timeout.
 *
 * @module
 */

/**
 * Progress of one segment.
 *
 * @example
 * ```ts
 * import { InMemoryTokenStore, type TrackingToken } from "../mod.ts";
 * const tokens = new InMemoryTokenStore();
 * await tokens.initializeSegments("greetings", 1);
 * const token: TrackingToken | undefined = await tokens.claim("greetings", 0, "instance-1", 10_000);
 * console.log(token?.index); // -1: nothing processed yet
 * ```
 */
export interface TrackingToken {
  /** Global token of the last processed event; -1 when nothing has been processed. */
  readonly index: number;
  /** During a replay: the index up to which events are being re-processed. */
  readonly replayUntil?: number;
  /** After a merge: the more advanced half's index; events up to it were already handled by that half. */
  readonly mergedUpper?: number;
  /** After a merge: the id of the more advanced half (its events up to `mergedUpper` are skipped). */
  readonly mergedUpperSegment?: number;
  /** After a merge: the mask of the more advanced half. */
  readonly mergedUpperMask?: number;
}

/**
 * One segment's row as stored.
 *
 * @example
 * ```ts
 * import { InMemoryTokenStore, type SegmentEntry } from "../mod.ts";
 * const tokens = new InMemoryTokenStore();
 * await tokens.initializeSegments("greetings", 2);
 * const entries: SegmentEntry[] = await tokens.entries("greetings");
 * console.log(entries.map((e) => `${e.segment}: ${e.token.index} ${e.owner ?? "unclaimed"}`));
 * ```
 */
export interface SegmentEntry {
  /** The processor the segment belongs to. */
  readonly processor: string;
  /** The segment's id. */
  readonly segment: number;
  /** The segment's token. */
  readonly token: TrackingToken;
  /** The claim owner, or undefined when unclaimed. */
  readonly owner?: string;
  /** When the claim was last taken or extended, epoch ms. */
  readonly claimedAt: number;
}

/**
 * The token store port. Every adapter passes the same contract suite (test/contracts).
 *
 * @example
 * ```ts
 * import { InMemoryTokenStore } from "./memory_token_store.ts";
 * import type { TokenStore } from "./token_store.ts";
 * const tokens: TokenStore = new InMemoryTokenStore();
 * await tokens.initializeSegments("greetings", 2);
 * console.log(await tokens.segments("greetings")); // [0, 1]
 * ```
 */
export interface TokenStore {
  /** Creates segments `0..count-1` at `initialToken` (default index -1) unless the processor already has segments. */
  initializeSegments(processor: string, count: number, initialToken?: TrackingToken): Promise<void>;
  /** The processor's segment ids, ascending. */
  segments(processor: string): Promise<number[]>;
  /** Every segment row of the processor, for status pages. */
  entries(processor: string): Promise<SegmentEntry[]>;
  /**
   * Claims a segment for `owner` and returns its token. Succeeds when unclaimed, already owned by `owner`,
   * or when the current claim is older than `claimTimeoutMs`. Returns undefined when someone else holds it.
   */
  claim(
    processor: string,
    segment: number,
    owner: string,
    claimTimeoutMs: number,
  ): Promise<TrackingToken | undefined>;
  /** Stores progress; throws a `ClaimError` when `owner` does not hold the claim (it was taken over). */
  store(processor: string, segment: number, owner: string, token: TrackingToken): Promise<void>;
  /** Refreshes the claim timestamp; throws a `ClaimError` when `owner` does not hold the claim. */
  extend(processor: string, segment: number, owner: string): Promise<void>;
  /** Gives the claim up (no-op when not held by `owner`). */
  release(processor: string, segment: number, owner: string): Promise<void>;
  /** Adds a segment (split). Throws when it exists. */
  initializeSegment(processor: string, segment: number, token: TrackingToken): Promise<void>;
  /** Removes a segment held by `owner` (merge). Throws a `ClaimError` when not held. */
  deleteSegment(processor: string, segment: number, owner: string): Promise<void>;
  /** Resets every segment of the processor to `token` (replay); all segments must be unclaimed or owned by `owner`. */
  reset(processor: string, token: TrackingToken, owner?: string): Promise<void>;
}
