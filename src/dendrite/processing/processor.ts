/**
 * The tracking event processor: reads the global event stream from its stored tokens, hands the events its
 * projection handles to it, and stores its progress. At-least-once: a token is stored only after the events
 * before it were handled, so a restart resumes there (projection writes must be idempotent), unless the token
 * store joins the projection's unit of work (`tokenInUnitOfWork`: exactly-once).
 *
 * Segments and claims follow the Axon Framework model. The parts:
 * - the coordinator (`coordinator.ts`, `membership.ts`) claims segments in the token store, shares them fairly
 *   with the other live instances and takes over the segments of a dead one once its claims expire;
 * - a segment worker (`segment_worker.ts`) per claimed segment handles the events whose sequence identifier
 *   (aggregate id, else event id) falls into its segment, in batches, and stores its token;
 * - the poison-event policy (`poison.ts`) retries a failing event with back-off and dead-letters it, queueing
 *   the aggregate's later events behind it. Transient errors (the store or transport unavailable, see
 *   `isTransient`) are not poison: the batch is retried for as long as the outage lasts (`outage.ts`).
 *
 * Time (claims, back-offs, flushes, rounds) comes from one injected `Clock`; the dead-letter queue is a
 * required choice of the composition root.
 *
 * @module
 */
import { ClaimError } from "../core/errors.ts";
import { Coordinator } from "./coordinator.ts";
import type { DeadLetterQueue } from "./dead_letter.ts";
import { rideOut } from "./outage.ts";
import { PoisonEvents } from "./poison.ts";
import { ProcessorContext } from "./processor_context.ts";
import type { Projection } from "./projection.ts";
import { mergeHeld, splitHeld } from "./segment_changes.ts";
import type { DeadLetterSummary, SequenceOutcome } from "./sequenced_dead_letters.ts";

export type { PoisonPolicy, ProcessorOptions, ProcessorStatus, SegmentStatus } from "./processor_options.ts";
export { type OutageBackoff, outageDelayMs, type Sleep } from "./outage.ts";
export { type Clock, systemClock } from "../core/clock.ts";
export { sequenceIdOf } from "./processor_context.ts";
import type { ProcessorOptions, ProcessorStatus } from "./processor_options.ts";

/**
 * Runs one projection.
 *
 * @example
 * ```ts
 * import { TrackingProcessor } from "./processor.ts";
 * import { InMemoryDeadLetterQueue } from "./dead_letter.ts";
 * import { InMemoryTokenStore } from "./memory_token_store.ts";
 * import { InMemoryEventStore } from "../eventstore/memory.ts";
 * import { InMemoryDocumentStore } from "../documents/memory.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * import { greeterModel, greeterProjection } from "../../example/greeter/projection.ts";
 *
 * const eventStore = new InMemoryEventStore();
 * const processor = new TrackingProcessor(greeterProjection(greeterModel(new InMemoryDocumentStore())), {
 *   eventStore,
 *   tokenStore: new InMemoryTokenStore(),
 *   registry: new MessageRegistry(),
 *   deadLetters: new InMemoryDeadLetterQueue(),
 * });
 * await processor.start();
 * await processor.caughtUp(await eventStore.lastToken());
 * await processor.split(0); // two segments now
 * await processor.stop();
 * ```
 */
export class TrackingProcessor {
  /** The projection this processor runs. */
  readonly projection: Projection;
  /** This instance's claim owner id. */
  readonly owner: string;
  /** Where this processor's poison events go. */
  readonly deadLetters: DeadLetterQueue;
  readonly #context: ProcessorContext;
  readonly #poison: PoisonEvents;
  readonly #coordinator: Coordinator;
  #controller: AbortController | undefined;
  #rounds: Promise<void> | undefined;

  /** A processor for `projection`; call `start()` to run it. */
  constructor(projection: Projection, options: ProcessorOptions) {
    this.projection = projection;
    this.#context = new ProcessorContext(projection, options);
    this.owner = this.#context.owner;
    this.deadLetters = options.deadLetters;
    this.#poison = new PoisonEvents(this.#context, options.deadLetters);
    this.#coordinator = new Coordinator(this.#context, this.#poison);
  }

  /** The processor's name (the projection's). */
  get name(): string {
    return this.projection.name;
  }

  /** True between start() and stop()/pause(). */
  get running(): boolean {
    return this.#controller !== undefined;
  }

  /**
   * Creates the segments when needed, joins the members, claims its share and starts processing. While the token
   * store is unavailable (a transient error: a store still starting, a network outage) it retries with the
   * processor's outage back-off, reporting each attempt, until the store answers or {@link stop} is called.
   */
  async start(): Promise<void> {
    if (this.#controller) return;
    const controller = new AbortController();
    this.#controller = controller;
    const coordinator = this.#coordinator;
    const { clock, options } = this.#context;
    try {
      await rideOut(async () => {
        await options.tokenStore.initializeSegments(this.name, this.#initialSegments);
        await coordinator.exclusive(() => coordinator.round(controller.signal));
      }, {
        signal: controller.signal,
        backoff: options.outage,
        sleep: (ms, signal) => clock.sleep(ms, signal),
        onOutage: (error) => this.#context.report(error, -1, -1),
      });
    } catch (error) {
      this.#controller = undefined;
      controller.abort(error);
      await coordinator.retireAll(false);
      throw error;
    }
    this.#rounds = coordinator.run(controller.signal);
  }

  /** Stops every worker, stores the progress made, releases the claims and leaves the members. */
  async stop(): Promise<void> {
    const controller = this.#controller;
    if (!controller) return;
    this.#controller = undefined;
    controller.abort(new DOMException("Processor stopped", "AbortError"));
    await this.#rounds;
    await this.#coordinator.exclusive(() => this.#coordinator.retireAll(true));
    this.#context.progress.notify();
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
    const coordinator = this.#coordinator;
    const segments = [...coordinator.workers.values()].sort((a, b) => a.id - b.id).map((w) => w.status());
    return {
      name: this.name,
      owner: this.owner,
      mode: "Tracking",
      running: this.running,
      error: segments.some((s) => s.error !== undefined),
      claimLimit: coordinator.claimLimit,
      members: coordinator.members,
      deadLettered: this.#poison.deadLettered,
      errors: this.#context.errors,
      segments,
    };
  }

  /**
   * Resolves once every segment is claimed by this instance and has processed past `token`
   * (read-your-writes for tests and for callers that just appended).
   */
  async caughtUp(token: number, signal?: AbortSignal): Promise<void> {
    const workers = this.#coordinator.workers;
    while (
      workers.size === 0 || workers.size < this.#coordinator.segmentCount ||
      [...workers.values()].some((w) => w.position < token)
    ) {
      await this.#context.progress.wait(signal);
    }
  }

  /** Resolves at the next change of progress or ownership (for callers watching `status()`). */
  changed(signal?: AbortSignal): Promise<void> {
    return this.#context.progress.wait(signal);
  }

  /**
   * Axon's `split_event_processor_segment`: splits a segment this instance holds into two halves at the same
   * token; this instance keeps the lower one, the other is left unclaimed for any instance. False when this
   * instance does not hold the segment.
   */
  split(segmentId: number): Promise<boolean> {
    return this.#coordinator.exclusive(() => {
      const signal = this.#controller?.signal;
      return signal ? splitHeld(this.#context, this.#coordinator, segmentId, signal) : Promise.resolve(false);
    });
  }

  /**
   * Axon's `merge_event_processor_segment`: merges a segment this instance holds with its sibling (claiming the
   * sibling too). The merged segment continues from the less advanced token and skips the events the more
   * advanced half had already handled. False when the segment is not held here, has no mergeable sibling, or
   * the sibling is claimed by another instance.
   */
  merge(segmentId: number): Promise<boolean> {
    return this.#coordinator.exclusive(() => {
      const signal = this.#controller?.signal;
      if (!signal || !this.#coordinator.workers.has(segmentId)) return Promise.resolve(false);
      return mergeHeld(this.#context, this.#coordinator, segmentId, signal);
    });
  }

  /**
   * Axon's `release_segment`: stores the segment's progress and gives up its claim; this instance does not
   * claim it again for two claim intervals, so another instance can take it. False when not held here.
   */
  release(segmentId: number): Promise<boolean> {
    const coordinator = this.#coordinator;
    return coordinator.exclusive(async () => {
      const worker = coordinator.workers.get(segmentId);
      if (!worker) return false;
      coordinator.block(segmentId);
      await coordinator.retire(worker, true);
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
    const store = this.#context.options.tokenStore;
    const claimed: number[] = [];
    try {
      await store.initializeSegments(this.name, this.#initialSegments);
      const head = await this.#claimAll(claimed);
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
    let succeeded = 0;
    let failed = 0;
    for (const sequenceId of await this.#parkedSequences(ids)) {
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
    return this.#poison.retrySequence(sequenceId, signal);
  }

  /** Drops the head of a parked sequence unhandled, then retries the events queued behind it. */
  evictSequence(sequenceId: string, signal?: AbortSignal): Promise<SequenceOutcome> {
    return this.#poison.evictSequence(sequenceId, signal);
  }

  /** The dead letters' count and the heads of the parked sequences. */
  deadLetterSummary(limit?: number): Promise<DeadLetterSummary> {
    return this.#poison.summary(limit);
  }

  get #initialSegments(): number {
    return this.#context.options.initialSegments ?? 1;
  }

  /** Claims every segment for a reset (noting each in `claimed`); returns the most advanced position seen. */
  async #claimAll(claimed: number[]): Promise<number> {
    const store = this.#context.options.tokenStore;
    let head = -1;
    for (const id of await store.segments(this.name)) {
      const token = await store.claim(this.name, id, this.owner, this.#context.claimTimeoutMs);
      if (!token) {
        throw new ClaimError(
          `Segment ${id} of "${this.name}" is claimed by another instance; pause it everywhere before a reset`,
        );
      }
      claimed.push(id);
      head = Math.max(head, token.index, token.replayUntil ?? -1, token.mergedUpper ?? -1);
    }
    return head;
  }

  /** The sequences of the given letters of this processor, or every parked one. */
  async #parkedSequences(ids?: readonly string[]): Promise<Set<string>> {
    if (!ids) return new Set(await this.deadLetters.sequences(this.name));
    const sequences = new Set<string>();
    for (const id of ids) {
      const letter = await this.deadLetters.get(id);
      if (letter && letter.processor === this.name) sequences.add(letter.sequenceId);
    }
    return sequences;
  }
}
