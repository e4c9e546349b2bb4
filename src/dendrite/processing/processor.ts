/**
 * The tracking event processor: reads the global event stream from its stored token, hands the events its
 * projection handles to it, and stores its progress. At-least-once: a token is stored only after the events
 * before it were handled, so a restart resumes there (projection writes must be idempotent).
 *
 * Segments and claims follow the Axon Framework model: a coordinator claims segments in the token store and runs
 * one worker per claimed segment; a worker sees only the events whose sequence identifier (aggregate id, else
 * event id) falls into its segment. A handler error never crashes the process: the segment retries with
 * back-off, reports its error state, and other segments continue.
 *
 * @module
 */
import { backoff, delay, Notifier } from "../core/async.ts";
import { ClaimError } from "../core/errors.ts";
import type { EventMessage } from "../core/message.ts";
import type { MessageRegistry } from "../core/registry.ts";
import type { EventStore, TrackedEventRecord } from "../eventstore/event_store.ts";
import type { Projection } from "./projection.ts";
import { computeSegment, type Segment, segmentMatches } from "./segment.ts";
import type { TokenStore, TrackingToken } from "./token_store.ts";

export interface ProcessorOptions {
  readonly eventStore: EventStore;
  readonly tokenStore: TokenStore;
  readonly registry: MessageRegistry;
  /** This instance's claim owner id (default: a fresh UUID). */
  readonly owner?: string;
  /** Segments created when the processor has none yet (default 1). */
  readonly initialSegments?: number;
  /** Store the token after this many events (default 100)… */
  readonly batchSize?: number;
  /** …and at the latest this long after an event was handled (default 200 ms). */
  readonly flushIntervalMs?: number;
  /** A claim not extended for this long may be taken over (default 10 s). */
  readonly claimTimeoutMs?: number;
  /** How often to extend claims and look for unclaimed segments (default claimTimeout / 3). */
  readonly claimIntervalMs?: number;
  /** Back-off for a failing handler (defaults 100 ms doubling to 30 s). */
  readonly retry?: { readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  /** Where handler and store errors are reported (default console.error). Processing goes on regardless. */
  readonly onError?: (error: unknown, where: { processor: string; segment: number; token: number }) => void;
}

/** What a segment worker is doing. */
export interface SegmentStatus {
  readonly segment: number;
  readonly mask: number;
  /** Token of the last handled (or skipped) event; -1 before the first. */
  readonly position: number;
  readonly replaying: boolean;
  /** The last handler error while it is being retried. */
  readonly error?: string;
}

export interface ProcessorStatus {
  readonly name: string;
  readonly owner: string;
  readonly running: boolean;
  readonly segments: readonly SegmentStatus[];
}

interface Worker {
  readonly segment: Segment;
  readonly controller: AbortController;
  position: number;
  stored: number;
  replayUntil?: number;
  error?: string;
  flushTimer?: ReturnType<typeof setTimeout>;
  flushing: Promise<void>;
  done: Promise<void>;
}

/**
 * Runs one projection.
 *
 * @example
 * ```ts ignore
 * const processor = new TrackingProcessor(greetingsProjection, { eventStore, tokenStore, registry });
 * await processor.start();
 * await processor.caughtUp(await eventStore.lastToken());
 * await processor.stop();
 * ```
 */
export class TrackingProcessor {
  readonly projection: Projection;
  readonly owner: string;
  readonly #options: ProcessorOptions;
  readonly #handled: Set<string>;
  readonly #workers = new Map<number, Worker>();
  readonly #progress = new Notifier();
  #controller: AbortController | undefined;
  #coordinator: Promise<void> | undefined;
  #segmentCount = 0;

  constructor(projection: Projection, options: ProcessorOptions) {
    this.projection = projection;
    this.#options = options;
    this.owner = options.owner ?? crypto.randomUUID();
    this.#handled = new Set(projection.events.map((schema) => schema.typeName));
    for (const schema of projection.events) options.registry.add(schema);
  }

  get name(): string {
    return this.projection.name;
  }

  get #claimTimeoutMs(): number {
    return this.#options.claimTimeoutMs ?? 10_000;
  }

  /** Creates the segments when needed, claims what it can and starts processing. */
  async start(): Promise<void> {
    if (this.#controller) return;
    await this.#options.tokenStore.initializeSegments(this.name, this.#options.initialSegments ?? 1);
    const controller = new AbortController();
    this.#controller = controller;
    await this.#claimAndExtend(controller.signal);
    this.#coordinator = this.#coordinate(controller.signal);
  }

  /** Stops every worker, stores the progress made and releases the claims. */
  async stop(): Promise<void> {
    const controller = this.#controller;
    if (!controller) return;
    this.#controller = undefined;
    controller.abort(new DOMException("Processor stopped", "AbortError"));
    await this.#coordinator;
    await Promise.all([...this.#workers.values()].map((w) => this.#retire(w)));
  }

  /** A snapshot of this instance's segments. */
  status(): ProcessorStatus {
    return {
      name: this.name,
      owner: this.owner,
      running: this.#controller !== undefined,
      segments: [...this.#workers.values()]
        .sort((a, b) => a.segment.id - b.segment.id)
        .map((w) => ({
          segment: w.segment.id,
          mask: w.segment.mask,
          position: w.position,
          replaying: w.replayUntil !== undefined && w.position < w.replayUntil,
          error: w.error,
        })),
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

  async #coordinate(signal: AbortSignal): Promise<void> {
    const interval = this.#options.claimIntervalMs ?? Math.max(50, Math.floor(this.#claimTimeoutMs / 3));
    while (!signal.aborted) {
      try {
        await delay(interval, signal);
        await this.#claimAndExtend(signal);
      } catch (error) {
        if (signal.aborted) return;
        this.#report(error, -1, -1);
      }
    }
  }

  async #claimAndExtend(signal: AbortSignal): Promise<void> {
    const store = this.#options.tokenStore;
    const ids = await store.segments(this.name);
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
    for (const id of ids) {
      if (signal.aborted) return;
      if (this.#workers.has(id)) continue;
      const token = await store.claim(this.name, id, this.owner, this.#claimTimeoutMs);
      if (token) this.#startWorker(computeSegment(id, ids), token, signal);
    }
    this.#progress.notify();
  }

  #startWorker(segment: Segment, token: TrackingToken, parent: AbortSignal): void {
    const controller = new AbortController();
    parent.addEventListener("abort", () => controller.abort(parent.reason), { once: true });
    const worker: Worker = {
      segment,
      controller,
      position: token.index,
      stored: token.index,
      replayUntil: token.replayUntil,
      flushing: Promise.resolve(),
      done: Promise.resolve(),
    };
    this.#workers.set(segment.id, worker);
    worker.done = this.#work(worker);
  }

  /** Stops a worker, stores its progress (when still the owner) and, if asked, releases its claim. */
  async #retire(worker: Worker, release = true): Promise<void> {
    worker.controller.abort(new DOMException("Segment released", "AbortError"));
    await worker.done;
    if (this.#workers.get(worker.segment.id) === worker) this.#workers.delete(worker.segment.id);
    if (release) {
      await this.#flush(worker);
      await this.#options.tokenStore.release(this.name, worker.segment.id, this.owner);
    }
    this.#progress.notify();
  }

  async #work(worker: Worker): Promise<void> {
    const { eventStore } = this.#options;
    const signal = worker.controller.signal;
    const batchSize = this.#options.batchSize ?? 100;
    let pending = 0;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        for await (const record of eventStore.stream({ from: worker.position + 1, follow: true, signal })) {
          if (this.#isMine(worker.segment, record)) await this.#handle(worker, record, signal);
          worker.position = record.token;
          attempt = 0;
          this.#progress.notify();
          if (++pending >= batchSize) {
            pending = 0;
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
        this.#report(error, worker.segment.id, worker.position);
        await delay(backoff(attempt, 100, 5_000), signal).catch(() => undefined);
      }
    }
  }

  #isMine(segment: Segment, record: TrackedEventRecord): boolean {
    return this.#handled.has(record.payload.type) &&
      segmentMatches(segment, record.aggregate?.id ?? record.id);
  }

  async #handle(worker: Worker, record: TrackedEventRecord, signal: AbortSignal): Promise<void> {
    const retry = this.#options.retry ?? {};
    for (let attempt = 0;; attempt++) {
      signal.throwIfAborted();
      try {
        const event: EventMessage = {
          id: record.id,
          payload: this.#options.registry.decode(record.payload),
          metadata: record.metadata,
          timestamp: record.timestamp,
          aggregate: record.aggregate,
          token: record.token,
        };
        const replaying = worker.replayUntil !== undefined && record.token <= worker.replayUntil;
        await this.projection.handle(event, { signal, replaying });
        worker.error = undefined;
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        worker.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        this.#report(error, worker.segment.id, record.token);
        await delay(backoff(attempt, retry.baseDelayMs ?? 100, retry.maxDelayMs ?? 30_000), signal);
      }
    }
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
    worker.flushing = worker.flushing.catch(() => undefined).then(async () => {
      const position = worker.position;
      if (position === worker.stored) return;
      const token: TrackingToken = worker.replayUntil !== undefined && position < worker.replayUntil
        ? { index: position, replayUntil: worker.replayUntil }
        : { index: position };
      await this.#options.tokenStore.store(this.name, worker.segment.id, this.owner, token);
      worker.stored = position;
      if (token.replayUntil === undefined) worker.replayUntil = undefined;
    });
    return worker.flushing;
  }

  #report(error: unknown, segment: number, token: number): void {
    const where = { processor: this.name, segment, token };
    if (this.#options.onError) this.#options.onError(error, where);
    else console.error(`Processor "${this.name}" segment ${segment} at token ${token}:`, error);
  }
}
