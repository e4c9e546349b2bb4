/**
 * The in-memory DCB event store: an array in sequence order and a tag index (tag → sequences). For tests and
 * single-process prototypes; nothing survives the process.
 *
 * @module
 */
import { Notifier } from "../core/async.ts";
import {
  type AppendCondition,
  checkSequence,
  completeEvent,
  ConsistencyViolationError,
  type Criterion,
  type DcbAppendResult,
  type DcbEventStore,
  type DcbReadOptions,
  matches,
  type SequencedEvent,
  type Sourced,
  type Tag,
  type TaggedEvent,
  uniqueTags,
  UnknownSequenceError,
} from "./dcb_event_store.ts";
import { follow } from "./follow.ts";

interface Stored {
  readonly sequenced: SequencedEvent;
  tags: Tag[];
}

/**
 * A {@link DcbEventStore} in memory.
 *
 * @example
 * ```ts
 * import { InMemoryDcbEventStore } from "./memory.ts";
 * const store = new InMemoryDcbEventStore();
 * console.log(await store.head()); // 0
 * ```
 */
export class InMemoryDcbEventStore implements DcbEventStore {
  readonly #events: Stored[] = [];
  readonly #appended = new Notifier();

  /** Appends the events atomically, on `condition` when given; see {@link DcbEventStore.append}. */
  append(events: readonly TaggedEvent[], condition?: AppendCondition): Promise<DcbAppendResult> {
    try {
      if (condition) {
        checkSequence(condition.marker, "consistency marker");
        const conflict = this.#events.slice(condition.marker).find((s) =>
          matches(condition.criteria, s.sequenced.event.name, s.tags)
        );
        if (conflict) {
          return Promise.reject(
            new ConsistencyViolationError(
              `Consistency condition failed: event ${conflict.sequenced.sequence} ("${conflict.sequenced.event.name}") matches the criteria at or after marker ${condition.marker}`,
            ),
          );
        }
      }
      const first = this.#events.length;
      const now = Date.now();
      events.forEach((tagged, i) =>
        this.#events.push({
          sequenced: { sequence: first + i, event: completeEvent(tagged.event, now) },
          tags: uniqueTags(tagged.tags),
        })
      );
      if (events.length > 0) this.#appended.notify();
      return Promise.resolve({ firstSequence: first, count: events.length, marker: this.#events.length });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The events matching `criteria` and the marker to append with; see {@link DcbEventStore.source}. */
  source(criteria: readonly Criterion[], options: DcbReadOptions = {}): Promise<Sourced> {
    const marker = this.#events.length;
    return Promise.resolve({ events: this.#read(criteria, options.from ?? 0, marker), marker });
  }

  /** The events matching `criteria` in sequence order; see {@link DcbEventStore.stream}. */
  stream(criteria: readonly Criterion[], options: DcbReadOptions = {}): AsyncIterable<SequencedEvent> {
    return follow(
      (from, limit) => this.#read(criteria, from, this.#events.length, limit),
      this.#appended,
      options.from ?? 0,
      options.signal,
    );
  }

  /** The sequence the next event gets. */
  head(): Promise<number> {
    return Promise.resolve(this.#events.length);
  }

  /** The sequence of the first stored event (0: never truncated). */
  tail(): Promise<number> {
    return Promise.resolve(0);
  }

  /** The first sequence stored at or after `timestamp`. */
  sequenceAt(timestamp: number): Promise<number> {
    const found = this.#events.find((s) => s.sequenced.event.timestamp >= timestamp);
    return Promise.resolve(found ? found.sequenced.sequence : this.#events.length);
  }

  /** Adds tags to a stored event. */
  addTags(sequence: number, tags: readonly Tag[]): Promise<void> {
    return this.#withEvent(sequence, (stored) => {
      stored.tags = uniqueTags([...stored.tags, ...tags]);
    });
  }

  /** Removes tags from a stored event. */
  removeTags(sequence: number, tags: readonly Tag[]): Promise<void> {
    return this.#withEvent(sequence, (stored) => {
      stored.tags = stored.tags.filter((t) => !tags.some((r) => r.key === t.key && r.value === t.value));
    });
  }

  /** The tags of a stored event. */
  getTags(sequence: number): Promise<Tag[]> {
    return this.#withEvent(sequence, (stored) => [...stored.tags]);
  }

  #withEvent<T>(sequence: number, work: (stored: Stored) => T): Promise<T> {
    try {
      checkSequence(sequence);
      const stored = this.#events[sequence];
      if (!stored) throw new UnknownSequenceError(sequence);
      return Promise.resolve(work(stored));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #read(criteria: readonly Criterion[], from: number, to: number, limit = Infinity): SequencedEvent[] {
    checkSequence(from, "start sequence");
    const out: SequencedEvent[] = [];
    for (let i = from; i < to && out.length < limit; i++) {
      const stored = this.#events[i];
      if (matches(criteria, stored.sequenced.event.name, stored.tags)) out.push(stored.sequenced);
    }
    return out;
  }
}
