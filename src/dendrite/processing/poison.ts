/**
 * The poison-event policy of a tracking processor: an event whose handler keeps failing is retried with back-off
 * while its segment reports the error; after `poison.maxAttempts` attempts (at once for a payload that does not
 * decode) it is dead-lettered and the segment goes on (policy "dead-letter", the default), or it is retried for
 * ever (policy "block"). Later events of a dead-lettered aggregate queue behind it, so a projection never sees an
 * aggregate's events out of order. Transient failures (the infrastructure being down) are ridden out by the
 * segment before they get here and never count as attempts.
 *
 * @module
 */
import { backoff } from "../core/async.ts";
import { SerializationError } from "../core/errors.ts";
import type { TrackedEventRecord } from "../eventstore/event_store.ts";
import { type DeadLetter, type DeadLetterQueue, describeError } from "./dead_letter.ts";
import { type ProcessorContext, sequenceIdOf } from "./processor_context.ts";
import {
  type DeadLetterSummary,
  SequencedDeadLetters,
  type SequenceOutcome,
} from "./sequenced_dead_letters.ts";

/** The segment an event is retried for: where its error shows and how it rides out an outage. */
export interface FailingSegment {
  readonly id: number;
  error?: string;
  /** Runs `operation` until the infrastructure it needs is available. */
  rideOut(token: number, signal: AbortSignal, operation: () => Promise<void>): Promise<void>;
  /** Handles the event through the projection once. */
  handle(record: TrackedEventRecord, signal: AbortSignal): Promise<void>;
}

/** Retries, dead-letters and parks the events a processor's projection fails on. */
export class PoisonEvents {
  readonly #context: ProcessorContext;
  readonly #letters: SequencedDeadLetters;
  #deadLettered = 0;

  constructor(context: ProcessorContext, queue: DeadLetterQueue) {
    this.#context = context;
    this.#letters = new SequencedDeadLetters(queue, context.name);
  }

  /** Events this instance dead-lettered (poison or queued behind one) since it was created. */
  get deadLettered(): number {
    return this.#deadLettered;
  }

  /** Reloads the parked sequences from the queue (another instance or an operator may have changed them). */
  refresh(): Promise<void> {
    return this.#letters.refresh();
  }

  /** True when the event's sequence is parked and the event was queued behind its letters. */
  async queuedBehind(segment: number, record: TrackedEventRecord): Promise<boolean> {
    const sequenceId = sequenceIdOf(record);
    if (!this.#letters.isParked(sequenceId)) return false;
    const queued = await this.#letters.queueBehind(segment, record, sequenceId);
    if (queued) this.#deadLettered++;
    return queued;
  }

  /** Handles the event, retrying with back-off until it succeeds or the policy dead-letters it. */
  async handle(segment: FailingSegment, record: TrackedEventRecord, signal: AbortSignal): Promise<void> {
    const { retry = {}, poison = {} } = this.#context.options;
    const maxAttempts = Math.max(1, poison.maxAttempts ?? 10);
    for (let attempt = 0;; attempt++) {
      signal.throwIfAborted();
      try {
        await segment.rideOut(record.token, signal, () => segment.handle(record, signal));
        segment.error = undefined;
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        segment.error = describeError(error);
        this.#context.report(error, segment.id, record.token);
        // A payload that does not decode will not decode next time either.
        const hopeless = error instanceof SerializationError;
        if (poison.policy !== "block" && (hopeless || attempt + 1 >= maxAttempts)) {
          await this.#park(segment.id, record, segment.error, attempt + 1);
          segment.error = undefined;
          return;
        }
        this.#context.progress.notify();
        const waitMs = backoff(attempt, retry.baseDelayMs ?? 100, retry.maxDelayMs ?? 30_000);
        await this.#context.clock.sleep(waitMs, signal);
      }
    }
  }

  /** Retries one parked sequence in order, head first, until a letter fails again. */
  retrySequence(sequenceId: string, signal?: AbortSignal): Promise<SequenceOutcome> {
    return this.#letters.retry(sequenceId, (letter) => this.#handleLetter(letter, signal), signal);
  }

  /** Drops the head of a parked sequence unhandled, then retries the events queued behind it. */
  evictSequence(sequenceId: string, signal?: AbortSignal): Promise<SequenceOutcome> {
    return this.#letters.evict(sequenceId, (letter) => this.#handleLetter(letter, signal), signal);
  }

  /** The dead letters' count and the heads of the parked sequences. */
  summary(limit?: number): Promise<DeadLetterSummary> {
    return this.#letters.summary(limit);
  }

  async #park(segment: number, record: TrackedEventRecord, cause: string, attempts: number): Promise<void> {
    await this.#letters.park(segment, record, sequenceIdOf(record), cause, attempts);
    this.#deadLettered++;
  }

  #handleLetter(letter: DeadLetter, signal?: AbortSignal): Promise<void> {
    return this.#context.handle(letter.event, false, signal ?? new AbortController().signal);
  }
}
