/**
 * The tracking event processor: reads the global event stream from its stored tokens, hands the events its
 * projection handles to it, and stores its progress. At-least-once: a token is stored only after the events
 * before it were handled, so a restart resumes there (projection writes must be idempotent).
 *
 * Segments and claims follow the Axon Framework model: a coordinator claims segments in the token store and runs
 * one worker per claimed segment; a worker sees only the events whose sequence identifier (aggregate id, else
 * event id) falls into its segment.
 *
 * Sharing: every running instance keeps a membership row in the token store (processor `<name>@members`, one
 * claimed row per instance). An instance claims at most `ceil(segments / live members)` segments and releases
 * its surplus one at a time, so instances converge on a fair split; segments of a dead instance are taken over
 * once its claims expire (`claimTimeoutMs`).
 *
 * Poison events: a failing handler is retried with back-off while the segment reports its error state; other
 * segments go on. After `poison.maxAttempts` attempts the event goes to the dead-letter queue and the segment
 * moves on (policy "dead-letter", the default) or keeps retrying (policy "block"). Later events of the same
 * aggregate are parked behind a dead letter, so a projection never sees an aggregate's events out of order.
 * Transient errors (the store or transport unavailable, see `isTransient`) are not poison: the batch is retried
 * with the `outage` back-off for as long as the outage lasts (`outage.ts`).
 *
 * @module
 */
import { backoff, delay, KeyedMutex, Notifier } from "../core/async.ts";
import { ClaimError, isTransient, SerializationError } from "../core/errors.ts";
import type { EventMessage } from "../core/message.ts";
import { streamPagesOf, type TrackedEventRecord } from "../eventstore/event_store.ts";
import { type DeadLetter, type DeadLetterQueue, describeError } from "./dead_letter.ts";
import {
  type DeadLetterSummary,
  SequencedDeadLetters,
  type SequenceOutcome,
} from "./sequenced_dead_letters.ts";
import { rideOut } from "./outage.ts";
import { traceBatch, traceEventHandling } from "../observability/event_tracing.ts";
import { tracing } from "../observability/trace.ts";
import type { Projection } from "./projection.ts";
import {
  computeSegment,
  mergeableSegmentId,
  mergeSegments,
  type Segment,
  segmentMatches,
  splitSegment,
} from "./segment.ts";
import type { TrackingToken } from "./token_store.ts";
import { markStored, tokenOf, type Worker } from "./worker.ts";

export type { PoisonPolicy, ProcessorOptions, ProcessorStatus, SegmentStatus } from "./processor_options.ts";
export { type OutageBackoff, outageDelayMs, type Sleep } from "./outage.ts";
import type { ProcessorOptions, ProcessorStatus, SegmentStatus } from "./processor_options.ts";

const MEMBERS_SUFFIX = "@members";

/**
 * Runs one projection.
 *
 * @example
 * ```ts ignore
 * const processor = new TrackingProcessor(greetingsProjection, { eventStore, tokenStore, registry });
 * await processor.start();
 * await processor.caughtUp(await eventStore.lastToken());
 * await processor.split(0); // two segments now
 * await processor.stop();
 * ```
 */
export class TrackingProcessor {
  readonly projection: Projection;
  readonly owner: string;
  /** Where this processor's poison events go. */
  readonly deadLetters: DeadLetterQueue;
  readonly #options: ProcessorOptions;
  readonly #handled: Set<string>;
  readonly #workers = new Map<number, Worker>();
  readonly #progress = new Notifier();
  readonly #lock = new KeyedMutex();
  readonly #blocked = new Map<number, number>();
  readonly #now: () => number;
  readonly #letters: SequencedDeadLetters;
  #controller: AbortController | undefined;
  #coordinator: Promise<void> | undefined;
  #segmentCount = 0;
  #members = 1;
  #claimLimit = 0;
  #memberId: number | undefined;
  #deadLettered = 0;

  constructor(projection: Projection, options: ProcessorOptions) {
    this.projection = projection;
    this.#options = options;
    this.owner = options.owner ?? crypto.randomUUID();
    this.deadLetters = options.deadLetters;
    this.#letters = new SequencedDeadLetters(options.deadLetters, projection.name);
    this.#now = options.now ?? Date.now;
    this.#handled = new Set(projection.events.map((schema) => schema.typeName));
    for (const schema of projection.events) options.registry.add(schema);
  }

  get name(): string {
    return this.projection.name;
  }

  get #claimTimeoutMs(): number {
    return this.#options.claimTimeoutMs ?? 10_000;
  }

  get #claimIntervalMs(): number {
    return this.#options.claimIntervalMs ?? Math.max(50, Math.floor(this.#claimTimeoutMs / 3));
  }

  get #membersKey(): string {
    return `${this.name}${MEMBERS_SUFFIX}`;
  }

  /** True between start() and stop()/pause(). */
  get running(): boolean {
    return this.#controller !== undefined;
  }

  /** Creates the segments when needed, joins the members, claims its share and starts processing. */
  async start(): Promise<void> {
    if (this.#controller) return;
    const controller = new AbortController();
    this.#controller = controller;
    try {
      await this.#options.tokenStore.initializeSegments(this.name, this.#options.initialSegments ?? 1);
      await this.#lock.run("", () => this.#tick(controller.signal));
    } catch (error) {
      this.#controller = undefined;
      controller.abort(error);
      await Promise.all([...this.#workers.values()].map((w) => this.#retire(w, false)));
      throw error;
    }
    this.#coordinator = this.#coordinate(controller.signal);
  }

  /** Stops every worker, stores the progress made, releases the claims and leaves the members. */
  async stop(): Promise<void> {
    const controller = this.#controller;
    if (!controller) return;
    this.#controller = undefined;
    controller.abort(new DOMException("Processor stopped", "AbortError"));
    await this.#coordinator;
    await this.#lock.run("", async () => {
      await Promise.all([...this.#workers.values()].map((w) => this.#retire(w, true)));
      await this.#leave();
    });
    this.#progress.notify();
  }

  /** Axon's `pause_event_processor`: the same as {@link stop}; {@link resume} or {@link start} resumes. */
  pause(): Promise<void> {
    return this.stop();
  }

  /** Axon's `start_event_processor`: the same as {@link start}. */
  resume(): Promise<void> {
    return this.start();
  }

  /** A snapshot of this instance's segments. */
  status(): ProcessorStatus {
    const segments = [...this.#workers.values()]
      .sort((a, b) => a.segment.id - b.segment.id)
      .map((w): SegmentStatus => ({
        segment: w.segment.id,
        mask: w.segment.mask,
        onePartOf: w.segment.mask + 1,
        position: w.position,
        caughtUp: w.caughtUp,
        replaying: w.replayUntil !== undefined && w.position < w.replayUntil,
        replayUntil: w.replayUntil,
        error: w.error,
      }));
    return {
      name: this.name,
      owner: this.owner,
      mode: "Tracking",
      running: this.running,
      error: segments.some((s) => s.error !== undefined),
      claimLimit: this.#claimLimit,
      members: this.#members,
      deadLettered: this.#deadLettered,
      segments,
    };
  }

  /**
   * Resolves once every segment is claimed by this instance and has processed past `token`
   * (read-your-writes for tests and for callers that just appended).
   */
  async caughtUp(token: number, signal?: AbortSignal): Promise<void> {
    while (
      this.#workers.size === 0 || this.#workers.size < this.#segmentCount ||
      [...this.#workers.values()].some((w) => w.position < token)
    ) {
      await this.#progress.wait(signal);
    }
  }

  /** Resolves at the next change of progress or ownership (for callers watching `status()`). */
  changed(signal?: AbortSignal): Promise<void> {
    return this.#progress.wait(signal);
  }

  /**
   * Axon's `split_event_processor_segment`: splits a segment this instance holds into two halves at the same
   * token; this instance keeps the lower one, the other is left unclaimed for any instance. False when this
   * instance does not hold the segment.
   */
  split(segmentId: number): Promise<boolean> {
    return this.#lock.run("", async () => {
      const signal = this.#controller?.signal;
      const worker = this.#workers.get(segmentId);
      if (!signal || !worker) return false;
      await this.#retire(worker, false, true);
      const store = this.#options.tokenStore;
      const segment = computeSegment(segmentId, await store.segments(this.name));
      const [keep, sibling] = splitSegment(segment);
      const token = tokenOf(worker);
      await store.store(this.name, segmentId, this.owner, token);
      await store.initializeSegment(this.name, sibling.id, token);
      this.#segmentCount++;
      if (!signal.aborted) this.#startWorker(keep, token, signal);
      return true;
    });
  }

  /**
   * Axon's `merge_event_processor_segment`: merges a segment this instance holds with its sibling (claiming the
   * sibling too). The merged segment continues from the less advanced token and skips the events the more
   * advanced half had already handled. False when the segment is not held here, has no mergeable sibling, or
   * the sibling is claimed by another instance.
   */
  merge(segmentId: number): Promise<boolean> {
    return this.#lock.run("", async () => {
      const signal = this.#controller?.signal;
      if (!signal || !this.#workers.has(segmentId)) return false;
      const store = this.#options.tokenStore;
      const ids = await store.segments(this.name);
      const segment = computeSegment(segmentId, ids);
      if (segment.mask === 0) return false;
      const otherId = mergeableSegmentId(segment);
      if (!ids.includes(otherId) || computeSegment(otherId, ids).mask !== segment.mask) return false;
      const tokens = new Map<number, TrackingToken>();
      for (const id of [segmentId, otherId]) {
        const worker = this.#workers.get(id);
        if (worker) {
          await this.#retire(worker, false, true);
          tokens.set(id, tokenOf(worker));
          continue;
        }
        const token = await store.claim(this.name, id, this.owner, this.#claimTimeoutMs);
        if (!token) {
          // The sibling belongs to someone else: resume what was stopped.
          for (const [held, t] of tokens) this.#startWorker(computeSegment(held, ids), t, signal);
          return false;
        }
        tokens.set(id, token);
      }
      const merged = mergeSegments(segment, { id: otherId, mask: segment.mask });
      const [lowerId, upperId] = tokens.get(segmentId)!.index <= tokens.get(otherId)!.index
        ? [segmentId, otherId]
        : [otherId, segmentId];
      const lower = tokens.get(lowerId)!;
      const upper = tokens.get(upperId)!;
      const replayUntil = Math.max(lower.replayUntil ?? -1, upper.replayUntil ?? -1);
      const token: TrackingToken = {
        index: lower.index,
        ...(replayUntil > lower.index ? { replayUntil } : {}),
        ...(upper.index > lower.index
          ? { mergedUpper: upper.index, mergedUpperSegment: upperId, mergedUpperMask: segment.mask }
          : {}),
      };
      await store.deleteSegment(this.name, merged.id === segmentId ? otherId : segmentId, this.owner);
      await store.store(this.name, merged.id, this.owner, token);
      this.#segmentCount--;
      if (!signal.aborted) this.#startWorker(merged, token, signal);
      return true;
    });
  }

  /**
   * Axon's `release_segment`: stores the segment's progress and gives up its claim; this instance does not
   * claim it again for two claim intervals, so another instance can take it. False when not held here.
   */
  release(segmentId: number): Promise<boolean> {
    return this.#lock.run("", async () => {
      const worker = this.#workers.get(segmentId);
      if (!worker) return false;
      this.#blocked.set(segmentId, this.#now() + 2 * this.#claimIntervalMs);
      await this.#retire(worker, true);
      this.#progress.notify();
      return true;
    });
  }

  /**
   * Replays: every segment goes back to just before global token `from` (default 0: the whole stream; the
   * projection's `reset()` clears the query model first). Events up to the previous position are handled with
   * `replaying: true`, and `status()` shows `replaying` and `replayUntil` until the segment has passed them.
   *
   * This instance stops, claims every segment (so every other instance must be paused: otherwise a
   * `ClaimError` is thrown and nothing changes), writes the reset tokens, releases the claims and starts again
   * if it was running.
   */
  async reset(from = 0): Promise<void> {
    const wasRunning = this.running;
    await this.stop();
    const store = this.#options.tokenStore;
    const claimed: number[] = [];
    try {
      await store.initializeSegments(this.name, this.#options.initialSegments ?? 1);
      let head = -1;
      for (const id of await store.segments(this.name)) {
        const token = await store.claim(this.name, id, this.owner, this.#claimTimeoutMs);
        if (!token) {
          throw new ClaimError(
            `Segment ${id} of "${this.name}" is claimed by another instance; pause it everywhere before a reset`,
          );
        }
        claimed.push(id);
        head = Math.max(head, token.index, token.replayUntil ?? -1, token.mergedUpper ?? -1);
      }
      const index = Math.max(-1, from - 1);
      if (index < 0) await this.projection.reset?.();
      await store.reset(this.name, head > index ? { index, replayUntil: head } : { index }, this.owner);
    } finally {
      for (const id of claimed) await store.release(this.name, id, this.owner);
      if (wasRunning) await this.start();
    }
  }

  /**
   * Retries dead letters through the projection: every parked sequence of this processor (or the sequences of the
   * given letter ids), each in order from its head; a sequence stops at its first letter that fails again (the
   * attempt is recorded). Returns how many letters succeeded and how many are still parked of those looked at.
   */
  async retryDeadLetters(
    ids?: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ succeeded: number; failed: number }> {
    const sequences = new Set<string>();
    if (ids) {
      for (const id of ids) {
        const letter = await this.deadLetters.get(id);
        if (letter && letter.processor === this.name) sequences.add(letter.sequenceId);
      }
    } else {
      for (const sequenceId of await this.deadLetters.sequences(this.name)) sequences.add(sequenceId);
    }
    let succeeded = 0;
    let failed = 0;
    for (const sequenceId of sequences) {
      const outcome = await this.retrySequence(sequenceId, signal);
      succeeded += outcome.handled;
      failed += outcome.remaining;
    }
    return { succeeded, failed };
  }

  /**
   * Retries one parked sequence (an aggregate id): its letters are handled in order, head first, until one fails
   * again; the sequence flows again once it has no letters left.
   */
  retrySequence(sequenceId: string, signal?: AbortSignal): Promise<SequenceOutcome> {
    return this.#letters.retry(sequenceId, (letter) => this.#handleLetter(letter, signal), signal);
  }

  /** Drops the head of a parked sequence unhandled, then retries the events queued behind it. */
  evictSequence(sequenceId: string, signal?: AbortSignal): Promise<SequenceOutcome> {
    return this.#letters.evict(sequenceId, (letter) => this.#handleLetter(letter, signal), signal);
  }

  /** The dead letters' count and the heads of the parked sequences. */
  deadLetterSummary(limit?: number): Promise<DeadLetterSummary> {
    return this.#letters.summary(limit);
  }

  async #handleLetter(letter: DeadLetter, signal?: AbortSignal): Promise<void> {
    await this.projection.handle(this.#decode(letter.event), {
      signal: signal ?? new AbortController().signal,
      replaying: false,
    });
  }

  async #coordinate(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await delay(this.#claimIntervalMs, signal);
        await this.#lock.run("", () => this.#tick(signal));
      } catch (error) {
        if (signal.aborted) return;
        this.#report(error, -1, -1);
      }
    }
  }

  /** One coordinator round: membership, extend, rebalance, claim. */
  async #tick(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const store = this.#options.tokenStore;
    this.#members = this.#options.balance === false ? 1 : await this.#heartbeat();
    await this.#letters.refresh();
    const entries = await store.entries(this.name);
    const ids = entries.map((e) => e.segment);
    this.#segmentCount = ids.length;
    for (const worker of [...this.#workers.values()]) {
      if (!ids.includes(worker.segment.id)) {
        await this.#retire(worker, false);
        continue;
      }
      try {
        await store.extend(this.name, worker.segment.id, this.owner);
      } catch (error) {
        if (!(error instanceof ClaimError)) throw error;
        await this.#retire(worker, false);
      }
    }
    const share = Math.ceil(ids.length / Math.max(1, this.#members));
    this.#claimLimit = Math.min(share, this.#options.maxSegments ?? Number.POSITIVE_INFINITY);
    const now = this.#now();
    if (this.#workers.size > this.#claimLimit) {
      // Surplus after another instance joined: give one segment back per round.
      const surplus = [...this.#workers.values()].sort((a, b) => b.segment.id - a.segment.id)[0];
      this.#blocked.set(surplus.segment.id, now + 2 * this.#claimIntervalMs);
      await this.#retire(surplus, true);
    }
    for (const entry of entries) {
      if (signal.aborted || this.#workers.size >= this.#claimLimit) break;
      if (this.#workers.has(entry.segment)) continue;
      if ((this.#blocked.get(entry.segment) ?? 0) > now) continue;
      if (entry.owner && entry.owner !== this.owner && entry.claimedAt + this.#claimTimeoutMs > now) continue;
      const token = await store.claim(this.name, entry.segment, this.owner, this.#claimTimeoutMs);
      if (token) this.#startWorker(computeSegment(entry.segment, ids), token, signal);
    }
    for (const [id, until] of this.#blocked) if (until <= now) this.#blocked.delete(id);
    this.#progress.notify();
  }

  /** Keeps this instance's membership row claimed; returns the number of live members; removes dead rows. */
  async #heartbeat(): Promise<number> {
    const store = this.#options.tokenStore;
    const key = this.#membersKey;
    if (this.#memberId !== undefined) {
      try {
        await store.extend(key, this.#memberId, this.owner);
      } catch (error) {
        if (!(error instanceof ClaimError)) throw error;
        this.#memberId = undefined;
      }
    }
    if (this.#memberId === undefined) {
      // A restart under the same owner id takes its own previous row back instead of counting as a second member.
      const own = (await store.entries(key)).find((entry) => entry.owner === this.owner);
      if (own && await store.claim(key, own.segment, this.owner, this.#claimTimeoutMs)) {
        this.#memberId = own.segment;
      }
    }
    while (this.#memberId === undefined) {
      const id = crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
      try {
        await store.initializeSegment(key, id, { index: -1 });
      } catch (error) {
        if (error instanceof ClaimError) continue;
        throw error;
      }
      if (await store.claim(key, id, this.owner, this.#claimTimeoutMs)) this.#memberId = id;
    }
    const now = this.#now();
    let live = 0;
    for (const entry of await store.entries(key)) {
      if (entry.owner !== undefined && entry.claimedAt + this.#claimTimeoutMs > now) {
        live++;
      } else if (entry.claimedAt + 2 * this.#claimTimeoutMs <= now) {
        // A member gone for two timeouts: remove its row (whoever claims it first).
        if (await store.claim(key, entry.segment, this.owner, this.#claimTimeoutMs)) {
          await store.deleteSegment(key, entry.segment, this.owner);
        }
      }
    }
    return Math.max(1, live);
  }

  async #leave(): Promise<void> {
    const id = this.#memberId;
    this.#memberId = undefined;
    if (id === undefined) return;
    try {
      await this.#options.tokenStore.deleteSegment(this.#membersKey, id, this.owner);
    } catch (error) {
      if (!(error instanceof ClaimError)) throw error;
    }
  }

  #startWorker(segment: Segment, token: TrackingToken, parent: AbortSignal): void {
    if (parent.aborted) return;
    const controller = new AbortController();
    const onAbort = () => controller.abort(parent.reason);
    parent.addEventListener("abort", onAbort, { once: true });
    const worker: Worker = {
      segment,
      controller,
      position: token.index,
      stored: token.index,
      head: Number.POSITIVE_INFINITY,
      caughtUp: false,
      replayUntil: token.replayUntil,
      mergedUpper: token.mergedUpper,
      mergedUpperSegment: token.mergedUpper !== undefined && token.mergedUpperSegment !== undefined
        ? { id: token.mergedUpperSegment, mask: token.mergedUpperMask ?? segment.mask }
        : undefined,
      flushing: Promise.resolve(),
      done: Promise.resolve(),
    };
    this.#workers.set(segment.id, worker);
    worker.done = this.#work(worker).finally(() => parent.removeEventListener("abort", onAbort));
  }

  /**
   * Stops a worker; stores its progress when `flush` (still the owner) and releases its claim when `release`.
   * A worker that lost its claim is retired with both false.
   */
  async #retire(worker: Worker, release: boolean, flush = release): Promise<void> {
    worker.controller.abort(new DOMException("Segment released", "AbortError"));
    await worker.done;
    if (this.#workers.get(worker.segment.id) === worker) this.#workers.delete(worker.segment.id);
    if (flush) await this.#flush(worker);
    else if (worker.flushTimer !== undefined) clearTimeout(worker.flushTimer);
    if (release) await this.#options.tokenStore.release(this.name, worker.segment.id, this.owner);
    this.#progress.notify();
  }

  async #work(worker: Worker): Promise<void> {
    const { eventStore } = this.#options;
    const signal = worker.controller.signal;
    const batchSize = this.#options.batchSize ?? 5_000;
    let unflushed = 0;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        if (!worker.caughtUp) {
          worker.head = await eventStore.lastToken({ signal });
          worker.caughtUp = worker.position >= worker.head;
        }
        const pages = streamPagesOf(eventStore, {
          from: worker.position + 1,
          follow: true,
          signal,
          pageSize: batchSize,
        });
        for await (const batch of pages) {
          await this.#process(worker, batch, signal);
          attempt = 0;
          unflushed += batch.length;
          if (unflushed >= batchSize) {
            unflushed = 0;
            await this.#flush(worker);
          } else {
            this.#scheduleFlush(worker);
          }
        }
        // A stream that ends without an abort (a closing store): reopen after a pause.
        await delay(backoff(attempt, 100, 5_000), signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ClaimError) {
          worker.controller.abort(error);
          return;
        }
        if (isTransient(error)) worker.error = describeError(error);
        this.#report(error, worker.segment.id, worker.position);
        await delay(backoff(attempt, 100, 5_000), signal).catch(() => undefined);
      }
    }
  }

  /** Handles one batch: parks events behind dead letters, handles the rest in one unit, advances. */
  async #process(worker: Worker, batch: readonly TrackedEventRecord[], signal: AbortSignal): Promise<void> {
    const mine: TrackedEventRecord[] = [];
    for (const record of batch) {
      if (this.#isMine(worker, record) && !await this.#queuedBehind(worker, record)) mine.push(record);
    }
    if (mine.length > 0) {
      const transactional = this.projection.unitOfWork !== undefined;
      const unit = this.projection.unitOfWork?.bind(this.projection) ?? ((work) => work());
      const next = batch[batch.length - 1].token;
      const withToken = transactional && this.#options.tokenInUnitOfWork === true;
      const token = tokenOf(worker, next);
      let done = 0;
      const work = () =>
        unit(async () => {
          for (const record of mine) {
            await this.#handleOnce(worker, record, signal);
            done++;
          }
          if (withToken) {
            await this.#options.tokenStore.store(this.name, worker.segment.id, this.owner, token);
          }
        });
      const run = tracing.enabled ? () => traceBatch(this.name, worker.segment.id, mine.length, work) : work;
      try {
        // The store being down is no fault of these events: retry the whole unit until it is back.
        await this.#rideOut(
          worker,
          next,
          signal,
          () =>
            withToken ? this.#inFlushOrder(worker, () => run().then(() => markStored(worker, token))) : run(),
        );
        worker.error = undefined;
      } catch (error) {
        if (signal.aborted || error instanceof ClaimError) throw error;
        // A unit of work was rolled back: handle its events again one by one (without one: go on from the
        // failing event), so only the failing event is retried and, in the end, dead-lettered.
        for (const record of mine.slice(transactional ? 0 : done)) {
          if (!await this.#queuedBehind(worker, record)) await this.#handleWithRetry(worker, record, signal);
        }
      }
    }
    worker.position = batch[batch.length - 1].token;
    if (worker.mergedUpper !== undefined && worker.position >= worker.mergedUpper) {
      worker.mergedUpper = undefined;
      worker.mergedUpperSegment = undefined;
    }
    if (!worker.caughtUp && worker.position >= worker.head) worker.caughtUp = true;
    this.#progress.notify();
  }

  #isMine(worker: Worker, record: TrackedEventRecord): boolean {
    if (!this.#handled.has(record.payload.type)) return false;
    const sequenceId = sequenceIdOf(record);
    if (!segmentMatches(worker.segment, sequenceId)) return false;
    const upper = worker.mergedUpperSegment;
    // After a merge: the more advanced half already handled its events up to `mergedUpper`.
    return !(upper && worker.mergedUpper !== undefined && record.token <= worker.mergedUpper &&
      segmentMatches(upper, sequenceId));
  }

  #decode(record: TrackedEventRecord): EventMessage {
    return {
      id: record.id,
      payload: this.#options.registry.decode(record.payload),
      metadata: record.metadata,
      timestamp: record.timestamp,
      aggregate: record.aggregate,
      token: record.token,
    };
  }

  async #handleOnce(worker: Worker, record: TrackedEventRecord, signal: AbortSignal): Promise<void> {
    const replaying = worker.replayUntil !== undefined && record.token <= worker.replayUntil;
    const event = this.#decode(record);
    const handle = () => this.projection.handle(event, { signal, replaying });
    await (tracing.enabled ? traceEventHandling(this.name, worker.segment.id, event, handle) : handle());
  }

  async #handleWithRetry(worker: Worker, record: TrackedEventRecord, signal: AbortSignal): Promise<void> {
    const retry = this.#options.retry ?? {};
    const poison = this.#options.poison ?? {};
    const maxAttempts = Math.max(1, poison.maxAttempts ?? 10);
    for (let attempt = 0;; attempt++) {
      signal.throwIfAborted();
      try {
        await this.#rideOut(worker, record.token, signal, () => this.#handleOnce(worker, record, signal));
        worker.error = undefined;
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        worker.error = describeError(error);
        this.#report(error, worker.segment.id, record.token);
        // A payload that does not decode will not decode next time either.
        const hopeless = error instanceof SerializationError;
        if (poison.policy !== "block" && (hopeless || attempt + 1 >= maxAttempts)) {
          await this.#deadLetter(worker, record, worker.error, attempt + 1);
          worker.error = undefined;
          return;
        }
        this.#progress.notify();
        await delay(backoff(attempt, retry.baseDelayMs ?? 100, retry.maxDelayMs ?? 30_000), signal);
      }
    }
  }

  /** True when the event's sequence is parked and the event was queued behind its letters. */
  async #queuedBehind(worker: Worker, record: TrackedEventRecord): Promise<boolean> {
    const sequenceId = sequenceIdOf(record);
    if (!this.#letters.isParked(sequenceId)) return false;
    const queued = await this.#letters.queueBehind(worker.segment.id, record, sequenceId);
    if (queued) this.#deadLettered++;
    return queued;
  }

  async #deadLetter(
    worker: Worker,
    record: TrackedEventRecord,
    cause: string,
    attempts: number,
  ): Promise<void> {
    await this.#letters.park(worker.segment.id, record, sequenceIdOf(record), cause, attempts);
    this.#deadLettered++;
  }

  #scheduleFlush(worker: Worker): void {
    if (worker.flushTimer !== undefined) return;
    worker.flushTimer = setTimeout(() => {
      worker.flushTimer = undefined;
      this.#flush(worker).catch((error) => {
        if (error instanceof ClaimError) worker.controller.abort(error);
        else this.#report(error, worker.segment.id, worker.position);
      });
    }, this.#options.flushIntervalMs ?? 200);
  }

  /** Stores the worker's position (serialized per worker, never going backwards). */
  #flush(worker: Worker): Promise<void> {
    if (worker.flushTimer !== undefined) {
      clearTimeout(worker.flushTimer);
      worker.flushTimer = undefined;
    }
    return this.#inFlushOrder(worker, async () => {
      if (worker.position > worker.stored) await this.#store(worker, worker.position);
    });
  }

  /** Runs `step` after the worker's earlier flushes (a batch storing its own token runs here too). */
  #inFlushOrder(worker: Worker, step: () => Promise<void>): Promise<void> {
    worker.flushing = worker.flushing.catch(() => undefined).then(step);
    return worker.flushing;
  }

  async #store(worker: Worker, position: number): Promise<void> {
    const token = tokenOf(worker, position);
    await this.#options.tokenStore.store(this.name, worker.segment.id, this.owner, token);
    markStored(worker, token);
  }

  /** Runs `operation` until the infrastructure it needs is available, showing the outage on the status. */
  #rideOut(
    worker: Worker,
    token: number,
    signal: AbortSignal,
    operation: () => Promise<void>,
  ): Promise<void> {
    return rideOut(operation, {
      signal,
      backoff: this.#options.outage,
      sleep: this.#options.sleep,
      onOutage: (error) => {
        worker.error = describeError(error);
        this.#report(error, worker.segment.id, token);
        this.#progress.notify();
      },
    });
  }

  #report(error: unknown, segment: number, token: number): void {
    const where = { processor: this.name, segment, token };
    if (this.#options.onError) this.#options.onError(error, where);
    else console.error(`Processor "${this.name}" segment ${segment} at token ${token}:`, error);
  }
}

/** The sequence identifier of an event: its aggregate id, else its own id (Axon's default policy). */
export function sequenceIdOf(
  record: { readonly id: string; readonly aggregate?: { readonly id: string } },
): string {
  return record.aggregate?.id ?? record.id;
}
