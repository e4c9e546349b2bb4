/**
 * The coordinator of a tracking processor instance: every claim interval it extends its membership and its
 * claims, gives back one segment above its fair share, and claims unclaimed (or expired) segments up to that
 * share, running one {@link SegmentWorker} per claimed segment. Its rounds and the processor's segment actions
 * (split, merge, release, stop) run one at a time.
 *
 * @module
 */
import { KeyedMutex } from "../core/async.ts";
import { ClaimError } from "../core/errors.ts";
import { Membership } from "./membership.ts";
import type { PoisonEvents } from "./poison.ts";
import type { ProcessorContext } from "./processor_context.ts";
import { computeSegment, type Segment } from "./segment.ts";
import { SegmentWorker } from "./segment_worker.ts";
import type { SegmentEntry, TrackingToken } from "./token_store.ts";

/** Claims segments for this instance and runs their workers. */
export class Coordinator {
  readonly workers: Map<number, SegmentWorker> = new Map();
  /** Segments existing at the last round (or after this instance's last split or merge). */
  segmentCount = 0;
  /** Live members at the last round. */
  members = 1;
  /** The most segments this instance claims now. */
  claimLimit = 0;
  readonly #context: ProcessorContext;
  readonly #poison: PoisonEvents;
  readonly #membership: Membership;
  readonly #lock = new KeyedMutex();
  /** Segments this instance does not claim again before the given time (released ones). */
  readonly #blocked = new Map<number, number>();

  constructor(context: ProcessorContext, poison: PoisonEvents) {
    this.#context = context;
    this.#poison = poison;
    this.#membership = new Membership(context);
  }

  /** Runs `task` alone: no round and no other segment action runs meanwhile. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.#lock.run("", task);
  }

  /** Rounds every claim interval until the signal aborts; round errors are reported and the next round tries again. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, claimIntervalMs } = this.#context;
    while (!signal.aborted) {
      try {
        await clock.sleep(claimIntervalMs, signal);
        await this.exclusive(() => this.round(signal));
      } catch (error) {
        if (signal.aborted) return;
        this.#context.report(error, -1, -1);
      }
    }
  }

  /** One round: membership, extend, rebalance, claim. Call inside {@link exclusive}. */
  async round(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const { options, name } = this.#context;
    this.members = options.balance === false ? 1 : await this.#membership.heartbeat();
    await this.#poison.refresh();
    const entries = await options.tokenStore.entries(name);
    const ids = entries.map((e) => e.segment);
    this.segmentCount = ids.length;
    await this.#extendClaims(ids);
    const share = Math.ceil(ids.length / Math.max(1, this.members));
    this.claimLimit = Math.min(share, options.maxSegments ?? Number.POSITIVE_INFINITY);
    const now = this.#context.clock.now();
    if (this.workers.size > this.claimLimit) {
      // Surplus after another instance joined: give one segment back per round.
      const surplus = [...this.workers.values()].sort((a, b) => b.id - a.id)[0];
      this.block(surplus.id);
      await this.retire(surplus, true);
    }
    await this.#claimFree(entries, ids, now, signal);
    for (const [id, until] of this.#blocked) if (until <= now) this.#blocked.delete(id);
    this.#context.progress.notify();
  }

  /** Starts a worker for a segment this instance has just claimed. */
  startWorker(segment: Segment, token: TrackingToken, signal: AbortSignal): void {
    if (signal.aborted) return;
    const worker = new SegmentWorker(this.#context, this.#poison, segment, token);
    this.workers.set(segment.id, worker);
    worker.start(signal);
  }

  /**
   * Stops a worker; stores its progress when `flush` (still the owner) and releases its claim when `release`.
   * A worker that lost its claim is retired with both false.
   */
  async retire(worker: SegmentWorker, release: boolean, flush = release): Promise<void> {
    await worker.stop();
    if (this.workers.get(worker.id) === worker) this.workers.delete(worker.id);
    if (flush) await worker.flush();
    else worker.discard();
    const { options, name, owner } = this.#context;
    if (release) await options.tokenStore.release(name, worker.id, owner);
    this.#context.progress.notify();
  }

  /** Stops every worker (storing progress and releasing claims when `release`) and leaves the members. */
  async retireAll(release: boolean): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => this.retire(w, release)));
    if (release) await this.#membership.leave();
  }

  /** Keeps this instance from claiming the segment again for two claim intervals. */
  block(segmentId: number): void {
    this.#blocked.set(segmentId, this.#context.clock.now() + 2 * this.#context.claimIntervalMs);
  }

  /** Extends the claims of the running workers; retires those whose segment is gone or claim was lost. */
  async #extendClaims(ids: readonly number[]): Promise<void> {
    const { options: { tokenStore }, name, owner } = this.#context;
    for (const worker of [...this.workers.values()]) {
      if (!ids.includes(worker.id)) {
        await this.retire(worker, false);
        continue;
      }
      try {
        await tokenStore.extend(name, worker.id, owner);
      } catch (error) {
        if (!(error instanceof ClaimError)) throw error;
        await this.retire(worker, false);
      }
    }
  }

  /** Claims segments that are free (unclaimed, expired or already ours) up to the claim limit. */
  async #claimFree(
    entries: readonly SegmentEntry[],
    ids: readonly number[],
    now: number,
    signal: AbortSignal,
  ): Promise<void> {
    const { options: { tokenStore }, name, owner, claimTimeoutMs } = this.#context;
    for (const entry of entries) {
      if (signal.aborted || this.workers.size >= this.claimLimit) break;
      if (this.workers.has(entry.segment)) continue;
      if ((this.#blocked.get(entry.segment) ?? 0) > now) continue;
      if (entry.owner && entry.owner !== owner && entry.claimedAt + claimTimeoutMs > now) continue;
      const token = await tokenStore.claim(name, entry.segment, owner, claimTimeoutMs);
      if (token) this.startWorker(computeSegment(entry.segment, ids), token, signal);
    }
  }
}
