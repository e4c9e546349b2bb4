/**
 * The DeadLetterQueue port: where a processor parks events its projection keeps failing on (poison events), so
 * the rest of the stream goes on. Letters can be listed, retried through the projection and deleted.
 *
 * Order is kept per sequence (aggregate): once an event of an aggregate is parked, the processor parks that
 * aggregate's later events behind it instead of handling them, until the letters are retried successfully or
 * deleted. So a projection never sees an aggregate's events out of order.
 *
 * @module
 */
import type { TrackedEventRecord } from "../eventstore/event_store.ts";

/**
 * A parked event with why it failed.
 *
 * @example
 * ```ts
 * import { type DeadLetter, InMemoryDeadLetterQueue } from "../mod.ts";
 * const letters = new InMemoryDeadLetterQueue();
 * const parked: DeadLetter[] = await letters.list("greetings", { limit: 20 });
 * for (const letter of parked) {
 *   console.log(letter.sequenceId, letter.event.token, letter.attempts, letter.cause);
 * }
 * ```
 */
export interface DeadLetter {
  /** The letter's own id. */
  readonly id: string;
  /** The processor that parked it. */
  readonly processor: string;
  /** The segment that parked it. */
  readonly segment: number;
  /** The sequence identifier: the aggregate id, else the event id. */
  readonly sequenceId: string;
  /** The parked event. */
  readonly event: TrackedEventRecord;
  /** The last failure as "ErrorName: message" (or "queued behind ..." for events parked to keep order). */
  readonly cause: string;
  /** Handler attempts so far. */
  readonly attempts: number;
  /** Epoch ms. */
  readonly enqueuedAt: number;
  /** Epoch ms of the last attempt. */
  readonly lastAttemptAt: number;
}

/**
 * What {@link DeadLetterQueue.enqueue} is given.
 *
 * @example
 * ```ts
 * import { InMemoryDeadLetterQueue, type NewDeadLetter } from "../mod.ts";
 * const payload = { type: "example.v1.GreetedEvent", revision: "", data: new Uint8Array() };
 * const letter: NewDeadLetter = {
 *   processor: "greetings",
 *   segment: 0,
 *   sequenceId: "main",
 *   event: { id: "e1", token: 7, timestamp: Date.now(), payload, metadata: {} },
 *   cause: "TypeError: x is undefined",
 *   attempts: 10,
 * };
 * const stored = await new InMemoryDeadLetterQueue().enqueue(letter); // gets its id and dates
 * ```
 */
export type NewDeadLetter = Omit<DeadLetter, "id" | "enqueuedAt" | "lastAttemptAt">;

/**
 * Which letters {@link DeadLetterQueue.list} returns: a page, optionally of one sequence only.
 *
 * @example
 * ```ts
 * import { type DeadLetterListOptions, InMemoryDeadLetterQueue } from "../mod.ts";
 * // The first 10 letters of aggregate "main", head first:
 * const options: DeadLetterListOptions = { sequenceId: "main", limit: 10, offset: 0 };
 * const letters = await new InMemoryDeadLetterQueue().list("greetings", options);
 * ```
 */
export interface DeadLetterListOptions {
  /** At most this many. */
  readonly limit?: number;
  /** Skip this many first. */
  readonly offset?: number;
  /** Only the letters of this sequence (in the order they were parked: the head first). */
  readonly sequenceId?: string;
}

/**
 * The dead-letter port. Letters of a processor are listed in the order they were parked.
 *
 * @example
 * ```ts
 * import { type DeadLetterQueue, InMemoryDeadLetterQueue } from "./dead_letter.ts";
 * const letters: DeadLetterQueue = new InMemoryDeadLetterQueue();
 * console.log(await letters.count("greetings")); // 0
 * ```
 */
export interface DeadLetterQueue {
  /**
   * Parks an event. Idempotent per (processor, event id): an event parked again (a redelivery after a restart from
   * an older token) keeps its first letter and place, which is returned.
   */
  enqueue(letter: NewDeadLetter): Promise<DeadLetter>;
  /** The processor's letters in the order they were parked (a page, see {@link DeadLetterListOptions}). */
  list(processor: string, options?: DeadLetterListOptions): Promise<DeadLetter[]>;
  /** The letter with this id, undefined when there is none. */
  get(id: string): Promise<DeadLetter | undefined>;
  /** Records another failed attempt. */
  recordAttempt(id: string, cause: string): Promise<void>;
  /** Removes a letter; true when it existed. */
  delete(id: string): Promise<boolean>;
  /** Sequence ids with parked letters (their later events are parked behind them). */
  sequences(processor: string): Promise<string[]>;
  /** Letters of the processor (of one sequence when `sequenceId` is given). */
  count(processor: string, sequenceId?: string): Promise<number>;
}

/** Formats an error as Axon's `error_state`: "ErrorName: message". */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Letters in memory: lost on restart, so for tests and throw-away processors only (give a durable queue, e.g.
 * `SqliteDeadLetterQueue`, in production).
 *
 * @example
 * ```ts
 * import { InMemoryDeadLetterQueue } from "./dead_letter.ts";
 * const letters = new InMemoryDeadLetterQueue();
 * console.log(await letters.count("greetings")); // 0
 * ```
 */
export class InMemoryDeadLetterQueue implements DeadLetterQueue {
  readonly #letters = new Map<string, DeadLetter>();
  readonly #now: () => number;

  /** An empty queue; `now` dates the letters (default Date.now). */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Parks an event; see {@link DeadLetterQueue.enqueue}. */
  enqueue(letter: NewDeadLetter): Promise<DeadLetter> {
    for (const parked of this.#letters.values()) {
      if (parked.processor === letter.processor && parked.event.id === letter.event.id) {
        return Promise.resolve(parked);
      }
    }
    const now = this.#now();
    const stored: DeadLetter = { ...letter, id: crypto.randomUUID(), enqueuedAt: now, lastAttemptAt: now };
    this.#letters.set(stored.id, stored);
    return Promise.resolve(stored);
  }

  /** The processor's letters; see {@link DeadLetterQueue.list}. */
  list(processor: string, options: DeadLetterListOptions = {}): Promise<DeadLetter[]> {
    const offset = options.offset ?? 0;
    const all = [...this.#letters.values()].filter((l) =>
      l.processor === processor && (options.sequenceId === undefined || l.sequenceId === options.sequenceId)
    );
    return Promise.resolve(all.slice(offset, offset + (options.limit ?? 100)));
  }

  /** The letter with this id. */
  get(id: string): Promise<DeadLetter | undefined> {
    return Promise.resolve(this.#letters.get(id));
  }

  /** Records another failed attempt. */
  recordAttempt(id: string, cause: string): Promise<void> {
    const letter = this.#letters.get(id);
    if (letter) {
      this.#letters.set(id, { ...letter, cause, attempts: letter.attempts + 1, lastAttemptAt: this.#now() });
    }
    return Promise.resolve();
  }

  /** Removes a letter; true when it existed. */
  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.#letters.delete(id));
  }

  /** Sequence ids with parked letters. */
  sequences(processor: string): Promise<string[]> {
    const ids = new Set<string>();
    for (const letter of this.#letters.values()) {
      if (letter.processor === processor) ids.add(letter.sequenceId);
    }
    return Promise.resolve([...ids]);
  }

  /** Letters of the processor (of one sequence when `sequenceId` is given). */
  count(processor: string, sequenceId?: string): Promise<number> {
    let n = 0;
    for (const letter of this.#letters.values()) {
      if (letter.processor === processor && (sequenceId === undefined || letter.sequenceId === sequenceId)) {
        n++;
      }
    }
    return Promise.resolve(n);
  }
}
