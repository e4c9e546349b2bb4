/**
 * A segment worker: follows the event stream from its segment's token, hands the events of its segment to the
 * projection in batches (one unit of work each), and stores its progress: after `batchSize` events, at the latest
 * `flushIntervalMs` after an event was handled, when it stops, or inside each batch's unit of work when the token
 * store joins it (`tokenInUnitOfWork`). The token never goes backwards.
 *
 * @module
 */
import { traceBatch } from "../observability/event_tracing.ts";
import { tracing } from "../observability/trace.ts";
import { backoff } from "../core/async.ts";
import { ClaimError, isTransient } from "../core/errors.ts";
import { streamPagesOf, type TrackedEventRecord } from "../eventstore/event_store.ts";
import { describeError } from "./dead_letter.ts";
import { rideOut } from "./outage.ts";
import type { FailingSegment, PoisonEvents } from "./poison.ts";
import { type ProcessorContext, sequenceIdOf } from "./processor_context.ts";
import type { SegmentStatus } from "./processor_options.ts";
import { type Segment, segmentMatches } from "./segment.ts";
import type { TrackingToken } from "./token_store.ts";

/** One claimed segment being processed. */
export class SegmentWorker implements FailingSegment {
  readonly segment: Segment;
  readonly #context: ProcessorContext;
  readonly #poison: PoisonEvents;
  readonly #controller = new AbortController();
  /** Token of the last handled (or skipped) event. */
  position: number;
  error?: string;
  #stored: number;
  #head = Number.POSITIVE_INFINITY;
  #caughtUp = false;
  #replayUntil?: number;
  #mergedUpper?: number;
  #mergedUpperSegment?: Segment;
  #flushTimer?: AbortController;
  #flushing: Promise<void> = Promise.resolve();
  #done: Promise<void> = Promise.resolve();

  constructor(context: ProcessorContext, poison: PoisonEvents, segment: Segment, token: TrackingToken) {
    this.#context = context;
    this.#poison = poison;
    this.segment = segment;
    this.position = token.index;
    this.#stored = token.index;
    this.#replayUntil = token.replayUntil;
    this.#mergedUpper = token.mergedUpper;
    if (token.mergedUpper !== undefined && token.mergedUpperSegment !== undefined) {
      this.#mergedUpperSegment = {
        id: token.mergedUpperSegment,
        mask: token.mergedUpperMask ?? segment.mask,
      };
    }
  }

  get id(): number {
    return this.segment.id;
  }

  /** True once it has lost its claim or been told to stop. */
  get stopped(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Starts processing; stops when `parent` aborts or {@link stop} is called. */
  start(parent: AbortSignal): void {
    if (parent.aborted) return;
    const onAbort = () => this.#controller.abort(parent.reason);
    parent.addEventListener("abort", onAbort, { once: true });
    this.#done = this.#work().finally(() => parent.removeEventListener("abort", onAbort));
  }

  /** Stops processing and waits until the current batch is done (its progress is not stored: see flush). */
  async stop(): Promise<void> {
    this.#controller.abort(new DOMException("Segment released", "AbortError"));
    await this.#done;
  }

  /** Stores the position (serialized with earlier stores, never going backwards). */
  flush(): Promise<void> {
    this.#cancelFlushTimer();
    return this.#inFlushOrder(async () => {
      if (this.position > this.#stored) await this.#store(this.position);
    });
  }

  /** Forgets a pending timed flush (the worker lost its claim). */
  discard(): void {
    this.#cancelFlushTimer();
  }

  /** The token of the worker at `position` (its replay and merge bounds while they still lie ahead). */
  token(position: number = this.position): TrackingToken {
    const upper = this.#mergedUpperSegment;
    return {
      index: position,
      ...(this.#replayUntil !== undefined && position < this.#replayUntil
        ? { replayUntil: this.#replayUntil }
        : {}),
      ...(this.#mergedUpper !== undefined && upper && position < this.#mergedUpper
        ? { mergedUpper: this.#mergedUpper, mergedUpperSegment: upper.id, mergedUpperMask: upper.mask }
        : {}),
    };
  }

  status(): SegmentStatus {
    return {
      segment: this.segment.id,
      mask: this.segment.mask,
      onePartOf: this.segment.mask + 1,
      position: this.position,
      caughtUp: this.#caughtUp,
      replaying: this.#replayUntil !== undefined && this.position < this.#replayUntil,
      replayUntil: this.#replayUntil,
      error: this.error,
    };
  }

  /** Handles one event through the projection (flagged as replayed up to the replay bound). */
  handle(record: TrackedEventRecord, signal: AbortSignal): Promise<void> {
    const replaying = this.#replayUntil !== undefined && record.token <= this.#replayUntil;
    return this.#context.handle(record, replaying, signal, this.id);
  }

  /** Runs `operation` until the infrastructure it needs is available, showing the outage on the status. */
  rideOut(token: number, signal: AbortSignal, operation: () => Promise<void>): Promise<void> {
    const { clock, options } = this.#context;
    return rideOut(operation, {
      signal,
      backoff: options.outage,
      sleep: (ms, aborted) => clock.sleep(ms, aborted),
      onOutage: (error) => {
        this.error = describeError(error);
        this.#context.report(error, this.id, token);
        this.#context.progress.notify();
      },
    });
  }

  async #work(): Promise<void> {
    const signal = this.#controller.signal;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await this.#follow(signal, () => (attempt = 0));
        // A stream that ends without an abort (a closing store): reopen after a pause.
        await this.#context.clock.sleep(backoff(attempt, 100, 5_000), signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ClaimError) {
          this.#controller.abort(error);
          return;
        }
        if (isTransient(error)) this.error = describeError(error);
        this.#context.report(error, this.id, this.position);
        await this.#context.clock.sleep(backoff(attempt, 100, 5_000), signal).catch(() => undefined);
      }
    }
  }

  /** Reads the stream from the position on, batch by batch, until it ends or the signal aborts. */
  async #follow(signal: AbortSignal, onBatch: () => void): Promise<void> {
    const { eventStore, batchSize = 5_000 } = this.#context.options;
    if (!this.#caughtUp) {
      this.#head = await eventStore.lastToken({ signal });
      this.#caughtUp = this.position >= this.#head;
    }
    let unflushed = 0;
    const pages = streamPagesOf(eventStore, {
      from: this.position + 1,
      follow: true,
      signal,
      pageSize: batchSize,
    });
    for await (const batch of pages) {
      await this.#process(batch, signal);
      onBatch();
      unflushed += batch.length;
      if (unflushed >= batchSize) {
        unflushed = 0;
        await this.flush();
      } else {
        this.#scheduleFlush();
      }
    }
  }

  /** Handles one batch: parks events behind dead letters, handles the rest in one unit, advances. */
  async #process(batch: readonly TrackedEventRecord[], signal: AbortSignal): Promise<void> {
    const mine: TrackedEventRecord[] = [];
    for (const record of batch) {
      if (this.#isMine(record) && !await this.#poison.queuedBehind(this.id, record)) mine.push(record);
    }
    const last = batch[batch.length - 1].token;
    if (mine.length > 0) await this.#handleBatch(mine, last, signal);
    this.#advance(last);
  }

  /** Handles events in the projection's unit of work; when that fails, one by one under the poison policy. */
  async #handleBatch(mine: readonly TrackedEventRecord[], last: number, signal: AbortSignal): Promise<void> {
    const { projection, options } = this.#context;
    const transactional = projection.unitOfWork !== undefined;
    const unit = projection.unitOfWork?.bind(projection) ?? ((work) => work());
    const withToken = transactional && options.tokenInUnitOfWork === true;
    const token = this.token(last);
    let done = 0;
    const work = () =>
      unit(async () => {
        for (const record of mine) {
          await this.handle(record, signal);
          done++;
        }
        if (withToken) {
          await options.tokenStore.store(this.#context.name, this.id, this.#context.owner, token);
        }
      });
    const run = tracing.enabled ? () => traceBatch(this.#context.name, this.id, mine.length, work) : work;
    try {
      // The store being down is no fault of these events: retry the whole unit until it is back.
      await this.rideOut(
        last,
        signal,
        () => withToken ? this.#inFlushOrder(() => run().then(() => this.#markStored(token))) : run(),
      );
      this.error = undefined;
    } catch (error) {
      if (signal.aborted || error instanceof ClaimError) throw error;
      // A unit of work was rolled back: handle its events again one by one (without one: go on from the
      // failing event), so only the failing event is retried and, in the end, dead-lettered.
      for (const record of mine.slice(transactional ? 0 : done)) {
        if (!await this.#poison.queuedBehind(this.id, record)) {
          await this.#poison.handle(this, record, signal);
        }
      }
    }
  }

  #advance(position: number): void {
    this.position = position;
    if (this.#mergedUpper !== undefined && position >= this.#mergedUpper) {
      this.#mergedUpper = undefined;
      this.#mergedUpperSegment = undefined;
    }
    if (!this.#caughtUp && position >= this.#head) this.#caughtUp = true;
    this.#context.progress.notify();
  }

  #isMine(record: TrackedEventRecord): boolean {
    if (!this.#context.handles(record)) return false;
    const sequenceId = sequenceIdOf(record);
    if (!segmentMatches(this.segment, sequenceId)) return false;
    const upper = this.#mergedUpperSegment;
    // After a merge: the more advanced half already handled its events up to `mergedUpper`.
    return !(upper && this.#mergedUpper !== undefined && record.token <= this.#mergedUpper &&
      segmentMatches(upper, sequenceId));
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined) return;
    const timer = new AbortController();
    this.#flushTimer = timer;
    this.#context.clock.sleep(this.#context.options.flushIntervalMs ?? 200, timer.signal).then(() => {
      if (this.#flushTimer !== timer) return;
      this.#flushTimer = undefined;
      this.flush().catch((error) => {
        if (error instanceof ClaimError) this.#controller.abort(error);
        else this.#context.report(error, this.id, this.position);
      });
    }, () => undefined);
  }

  #cancelFlushTimer(): void {
    this.#flushTimer?.abort();
    this.#flushTimer = undefined;
  }

  /** Runs `step` after the worker's earlier flushes (a batch storing its own token runs here too). */
  #inFlushOrder(step: () => Promise<void>): Promise<void> {
    this.#flushing = this.#flushing.catch(() => undefined).then(step);
    return this.#flushing;
  }

  async #store(position: number): Promise<void> {
    const token = this.token(position);
    await this.#context.options.tokenStore.store(this.#context.name, this.id, this.#context.owner, token);
    this.#markStored(token);
    this.#context.progress.notify();
  }

  /** Notes a token as committed. */
  #markStored(token: TrackingToken): void {
    this.#stored = Math.max(this.#stored, token.index);
    if (token.replayUntil === undefined) this.#replayUntil = undefined;
  }
}
