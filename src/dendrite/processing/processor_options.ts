/**
 * The options and the status of a `TrackingProcessor` (its configuration and what it reports, mapped onto
 * Axon's `EventProcessorInfo`).
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import type { MessageRegistry } from "../core/registry.ts";
import type { EventStore } from "../eventstore/event_store.ts";
import type { DeadLetterQueue } from "./dead_letter.ts";
import type { OutageBackoff } from "./outage.ts";
import type { TokenStore } from "./token_store.ts";

/**
 * What to do with an event whose handler keeps failing.
 *
 * @example
 * ```ts
 * import type { PoisonPolicy, ProcessorOptions } from "../mod.ts";
 * // Park an event after 3 failed attempts (the default policy), or stall the segment with "block":
 * const poison: PoisonPolicy = { maxAttempts: 3, policy: "dead-letter" };
 * const strict = (options: ProcessorOptions): ProcessorOptions => ({ ...options, poison });
 * ```
 */
export interface PoisonPolicy {
  /** Handler attempts before the event is dead-lettered (default 10). */
  readonly maxAttempts?: number;
  /** "dead-letter" (default): park it and go on; "block": retry forever (the segment stalls). */
  readonly policy?: "dead-letter" | "block";
}

/**
 * Options of {@link TrackingProcessor}.
 *
 * @example
 * ```ts
 * import type { ProcessorOptions } from "./processor_options.ts";
 * import { InMemoryDeadLetterQueue } from "./dead_letter.ts";
 * import { InMemoryTokenStore } from "./memory_token_store.ts";
 * import { InMemoryEventStore } from "../eventstore/memory.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * const options: ProcessorOptions = {
 *   eventStore: new InMemoryEventStore(),
 *   tokenStore: new InMemoryTokenStore(),
 *   registry: new MessageRegistry(),
 *   deadLetters: new InMemoryDeadLetterQueue(),
 *   initialSegments: 2,
 *   poison: { maxAttempts: 5 },
 * };
 * ```
 */
export interface ProcessorOptions {
  /** The store whose global stream is processed. */
  readonly eventStore: EventStore;
  /** Where segments are claimed and tokens stored. */
  readonly tokenStore: TokenStore;
  /** The schemas events are decoded with. */
  readonly registry: MessageRegistry;
  /**
   * This instance's claim owner id (default: a fresh UUID). Give a stable one (e.g. role + host + data directory)
   * so that a restarted instance takes its own segments back at once instead of waiting for its old claims to
   * expire; two live instances must never share one.
   */
  readonly owner?: string;
  /** Segments created when the processor has none yet (default 1). */
  readonly initialSegments?: number;
  /**
   * The most events handled per batch (one unit of work) and before the token is stored (default 5,000). Batches
   * are what is ready: a live tail handles events as they come; a catch-up gets full batches (one commit each).
   */
  readonly batchSize?: number;
  /**
   * The token store joins the projection's unit of work (e.g. `SqliteTokenStore` and `SqliteDocumentStore` on one
   * `Sqlite`): each batch's token is stored inside the batch's transaction, so model changes and progress commit
   * together and a crash never redelivers a committed batch (exactly-once). Default false: the token is stored
   * after the unit (at-least-once; projection writes must be idempotent).
   */
  readonly tokenInUnitOfWork?: boolean;
  /** Store the token at the latest this long after an event was handled (default 200 ms). */
  readonly flushIntervalMs?: number;
  /** A claim not extended for this long may be taken over (default 10 s). */
  readonly claimTimeoutMs?: number;
  /** How often to extend claims, rebalance and look for unclaimed segments (default claimTimeout / 3). */
  readonly claimIntervalMs?: number;
  /** The most segments this instance claims (default: no limit besides the fair share). */
  readonly maxSegments?: number;
  /** Share segments fairly with other live instances (default true). */
  readonly balance?: boolean;
  /** Back-off for a failing handler (defaults 100 ms doubling to 30 s). */
  readonly retry?: { readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  /** What to do with events whose handler keeps failing (see {@link PoisonPolicy}). */
  readonly poison?: PoisonPolicy;
  /**
   * Back-off while the infrastructure is unavailable (a `TransientError`: Elasticsearch or SQLite busy/down,
   * gRPC UNAVAILABLE). Such failures are retried forever and never count towards `poison.maxAttempts`.
   */
  readonly outage?: OutageBackoff;
  /**
   * Where poison events go: a required choice of the composition root (a durable one such as
   * `SqliteDeadLetterQueue` in production; `InMemoryDeadLetterQueue` loses the letters, and the events queued behind
   * them, on restart).
   */
  readonly deadLetters: DeadLetterQueue;
  /**
   * The time of claims, back-offs, flush timers and the coordinator's rounds (default the system clock). Its
   * `now()` must agree with the token store's clock; tests pass a `ManualClock` to drive time.
   */
  readonly clock?: Clock;
  /** Where handler and store errors are reported (default console.error). Processing goes on regardless. */
  readonly onError?: (error: unknown, where: { processor: string; segment: number; token: number }) => void;
}

/**
 * What a segment worker is doing (maps onto Axon's `SegmentStatus`).
 *
 * @example
 * ```ts
 * import type { SegmentStatus, TrackingProcessor } from "../mod.ts";
 * const lagging = (processor: TrackingProcessor): SegmentStatus[] =>
 *   processor.status().segments.filter((segment) => !segment.caughtUp || segment.error !== undefined);
 * ```
 */
export interface SegmentStatus {
  /** The segment's id. */
  readonly segment: number;
  /** The segment's mask. */
  readonly mask: number;
  /** Axon's `one_part_of`: mask + 1. */
  readonly onePartOf: number;
  /** Token of the last handled (or skipped) event; -1 before the first. */
  readonly position: number;
  /** True once the segment reached the head of the stream as it was when the worker started. */
  readonly caughtUp: boolean;
  /** True while re-processing events up to `replayUntil` after a reset. */
  readonly replaying: boolean;
  /** The token a replay runs to, while `replaying`. */
  readonly replayUntil?: number;
  /** The handler or store error being retried, as "ErrorName: message" (Axon's `error_state`). */
  readonly error?: string;
}

/**
 * This instance's view of the processor (maps onto Axon's `EventProcessorInfo`).
 *
 * @example
 * ```ts
 * import type { ProcessorStatus, TrackingProcessor } from "../mod.ts";
 * const report = (processor: TrackingProcessor): string => {
 *   const status: ProcessorStatus = processor.status();
 *   const segments = `${status.segments.length}/${status.claimLimit} segments`;
 *   return `${status.name}: ${segments}, ${status.deadLettered} parked, ${status.members} members`;
 * };
 * ```
 */
export interface ProcessorStatus {
  /** The processor's name. */
  readonly name: string;
  /** This instance's claim owner id. */
  readonly owner: string;
  /** Axon's processor mode. */
  readonly mode: "Tracking";
  /** True between `start()` and `stop()` (false while paused). */
  readonly running: boolean;
  /** True when any segment reports an error. */
  readonly error: boolean;
  /** The most segments this instance claims now (fair share, capped by maxSegments). */
  readonly claimLimit: number;
  /** Live instances sharing the processor (including this one) at the last check. */
  readonly members: number;
  /** Events this instance dead-lettered since it was created. */
  readonly deadLettered: number;
  /** Handler and store errors this instance reported (each failed attempt, outages included) since it was created. */
  readonly errors: number;
  /** The segments this instance works on. */
  readonly segments: readonly SegmentStatus[];
}
