/**
 * Axon's sequenced dead-letter semantics on top of a {@link DeadLetterQueue}: once an event of a sequence (its
 * aggregate) is dead-lettered, the sequence is parked and its later events are queued behind that head instead of
 * being handled. A retry handles the sequence's letters in order, head first, and stops at the first that fails
 * again; an eviction drops the head and then handles the rest. Only an empty sequence flows again.
 *
 * Parking and releasing a sequence are serialized per sequence, so an event never overtakes the letters of its
 * aggregate, even while a retry runs next to the processing.
 *
 * @module
 */
import { KeyedMutex } from "../core/async.ts";
import type { TrackedEventRecord } from "../eventstore/event_store.ts";
import { type DeadLetter, type DeadLetterQueue, describeError } from "./dead_letter.ts";

/**
 * The head of a parked sequence, as shown to operators.
 *
 * @example
 * ```ts
 * import type { SequenceSummary, TrackingProcessor } from "../mod.ts";
 * const heads = async (processor: TrackingProcessor): Promise<string[]> => {
 *   const { sequences } = await processor.deadLetterSummary(20);
 *   return sequences.map((s: SequenceSummary) => `${s.sequenceId} (${s.letters}): ${s.head.cause}`);
 * };
 * ```
 */
export interface SequenceSummary {
  /** The sequence id. */
  readonly sequenceId: string;
  /** Letters of the sequence: the failed head and the events queued behind it. */
  readonly letters: number;
  /** The sequence's head: the letter that must be handled first. */
  readonly head: {
    readonly letterId: string;
    readonly eventId: string;
    readonly payloadType: string;
    readonly payloadRevision: string;
    /** Global token of the event. */
    readonly token: number;
    /** The event's aggregate sequence number, when it has an aggregate. */
    readonly aggregateSequence?: number;
    readonly cause: string;
    readonly attempts: number;
    /** Epoch ms. */
    readonly enqueuedAt: number;
    readonly lastAttemptAt: number;
  };
}

/**
 * A processor's dead letters at a glance.
 *
 * @example
 * ```ts
 * import type { DeadLetterSummary, TrackingProcessor } from "../mod.ts";
 * const alert = async (processor: TrackingProcessor): Promise<boolean> => {
 *   const summary: DeadLetterSummary = await processor.deadLetterSummary();
 *   return summary.count > 0;
 * };
 * ```
 */
export interface DeadLetterSummary {
  /** Letters of the processor in all. */
  readonly count: number;
  /** Parked sequences (the first `limit` of them, oldest first). */
  readonly sequences: readonly SequenceSummary[];
}

/**
 * What a retry or an eviction of one sequence did.
 *
 * @example
 * ```ts
 * import type { SequenceOutcome, TrackingProcessor } from "../mod.ts";
 * const retry = async (processor: TrackingProcessor, aggregateId: string): Promise<string> => {
 *   const outcome: SequenceOutcome = await processor.retrySequence(aggregateId);
 *   return outcome.remaining === 0 ? `${outcome.handled} handled` : `still parked: ${outcome.error}`;
 * };
 * ```
 */
export interface SequenceOutcome {
  /** The sequence id. */
  readonly sequenceId: string;
  /** Letters handled successfully (and deleted). */
  readonly handled: number;
  /** Letters dropped unhandled (the evicted head). */
  readonly evicted: number;
  /** Letters still parked (the head failed again). */
  readonly remaining: number;
  /** The head's new failure, when it failed again. */
  readonly error?: string;
}

/** Handles one letter's event through the projection; throws when it fails. */
export type LetterHandler = (letter: DeadLetter) => Promise<void>;

const PAGE = 500;

/** The parked sequences of one processor and the operations on them. */
export class SequencedDeadLetters {
  readonly queue: DeadLetterQueue;
  readonly #processor: string;
  readonly #locks = new KeyedMutex();
  #parked = new Set<string>();
  /** Sequences parked (true) or released (false) since the last refresh began. */
  #touched = new Map<string, boolean>();

  constructor(queue: DeadLetterQueue, processor: string) {
    this.queue = queue;
    this.#processor = processor;
  }

  /** True when the sequence has letters: its next event must queue behind them. */
  isParked(sequenceId: string): boolean {
    return this.#parked.has(sequenceId);
  }

  /** Re-reads the parked sequences (another instance may have parked some before handing a segment over). */
  async refresh(): Promise<void> {
    const touched = new Map<string, boolean>();
    this.#touched = touched;
    const parked = new Set(await this.queue.sequences(this.#processor));
    for (const [sequenceId, isParked] of touched) {
      if (isParked) parked.add(sequenceId);
      else parked.delete(sequenceId);
    }
    this.#parked = parked;
  }

  /** Dead-letters an event: it becomes (or queues behind) its sequence's head. */
  park(segment: number, event: TrackedEventRecord, sequenceId: string, cause: string, attempts: number) {
    return this.#locks.run(sequenceId, () => this.#enqueue(segment, event, sequenceId, cause, attempts));
  }

  /**
   * Queues the event behind its sequence's letters when the sequence is (still) parked; false when it is not, or
   * when the event comes before the sequence's head (a redelivery of an event handled before the head was parked,
   * after a restart from an older token): the caller handles the event. Call it only for sequences
   * {@link isParked} reported.
   */
  queueBehind(segment: number, event: TrackedEventRecord, sequenceId: string): Promise<boolean> {
    return this.#locks.run(sequenceId, async () => {
      if (!this.#parked.has(sequenceId)) return false;
      const [head] = await this.queue.list(this.#processor, { sequenceId, limit: 1 });
      if (head && event.token < head.event.token) return false;
      await this.#enqueue(segment, event, sequenceId, `Queued behind a dead letter of "${sequenceId}"`, 0);
      return true;
    });
  }

  /** Handles the sequence's letters in order, head first; stops at the first that fails again. */
  retry(sequenceId: string, handle: LetterHandler, signal?: AbortSignal): Promise<SequenceOutcome> {
    return this.#locks.run(sequenceId, () => this.#drain(sequenceId, handle, 0, signal));
  }

  /** Drops the sequence's head unhandled, then handles the letters queued behind it as {@link retry} does. */
  evict(sequenceId: string, handle: LetterHandler, signal?: AbortSignal): Promise<SequenceOutcome> {
    return this.#locks.run(sequenceId, async () => {
      const [head] = await this.queue.list(this.#processor, { sequenceId, limit: 1 });
      const evicted = head && await this.queue.delete(head.id) ? 1 : 0;
      return await this.#drain(sequenceId, handle, evicted, signal);
    });
  }

  /** The letter count and the heads of the first `limit` parked sequences. */
  async summary(limit = 100): Promise<DeadLetterSummary> {
    const count = await this.queue.count(this.#processor);
    const sequences: SequenceSummary[] = [];
    for (const sequenceId of (await this.queue.sequences(this.#processor)).slice(0, limit)) {
      const [head] = await this.queue.list(this.#processor, { sequenceId, limit: 1 });
      if (!head) continue;
      sequences.push({
        sequenceId,
        letters: await this.queue.count(this.#processor, sequenceId),
        head: headOf(head),
      });
    }
    return { count, sequences };
  }

  async #enqueue(
    segment: number,
    event: TrackedEventRecord,
    sequenceId: string,
    cause: string,
    attempts: number,
  ) {
    await this.queue.enqueue({ processor: this.#processor, segment, sequenceId, event, cause, attempts });
    this.#parked.add(sequenceId);
    this.#touched.set(sequenceId, true);
  }

  /** Handles letters head first until one fails or none is left (letters queued meanwhile included). */
  async #drain(sequenceId: string, handle: LetterHandler, evicted: number, signal?: AbortSignal) {
    let handled = 0;
    while (true) {
      const page = await this.queue.list(this.#processor, { sequenceId, limit: PAGE });
      if (page.length === 0) break;
      for (const letter of page) {
        signal?.throwIfAborted();
        try {
          await handle(letter);
        } catch (error) {
          signal?.throwIfAborted();
          const cause = describeError(error);
          await this.queue.recordAttempt(letter.id, cause);
          const remaining = await this.queue.count(this.#processor, sequenceId);
          return { sequenceId, handled, evicted, remaining, error: cause };
        }
        await this.queue.delete(letter.id);
        handled++;
      }
    }
    this.#parked.delete(sequenceId);
    this.#touched.set(sequenceId, false);
    return { sequenceId, handled, evicted, remaining: 0 };
  }
}

function headOf(letter: DeadLetter): SequenceSummary["head"] {
  return {
    letterId: letter.id,
    eventId: letter.event.id,
    payloadType: letter.event.payload.type,
    payloadRevision: letter.event.payload.revision,
    token: letter.event.token,
    ...(letter.event.aggregate ? { aggregateSequence: letter.event.aggregate.sequence } : {}),
    cause: letter.cause,
    attempts: letter.attempts,
    enqueuedAt: letter.enqueuedAt,
    lastAttemptAt: letter.lastAttemptAt,
  };
}
