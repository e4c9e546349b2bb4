/**
 * The events this process committed last, kept in memory so that the live readers of the global stream (every
 * segment of every tracking processor, soma's streams) take them from one shared, already decoded copy instead of
 * each reading and decoding the same rows back from the file.
 *
 * Only a contiguous run of tokens is kept: when the file gained events from elsewhere (another process on the same
 * database) the run starts over, and a read outside it goes to the file.
 *
 * @module
 */
import type { TrackedEventRecord } from "./event_store.ts";

/**
 * Limits of {@link RecentEvents}.
 *
 * @example
 * ```ts
 * import type { RecentEventsLimits } from "./recent_events.ts";
 * const limits: RecentEventsLimits = { maxEvents: 4_096, maxBytes: 8 * 1024 * 1024 };
 * console.log(limits.maxEvents);
 * ```
 */
export interface RecentEventsLimits {
  /** At most this many events are kept. */
  readonly maxEvents: number;
  /** At most this many payload bytes are kept. */
  readonly maxBytes: number;
}

/**
 * The default: 4,096 events or 8 MiB of payloads, whichever is reached first.
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from "./sqlite.ts";
 * import { DEFAULT_RECENT_EVENTS } from "./recent_events.ts";
 * const store = new SqliteEventStore({
 *   path: ":memory:",
 *   recentEvents: { ...DEFAULT_RECENT_EVENTS, maxEvents: 16_384 },
 * });
 * store.close();
 * ```
 */
export const DEFAULT_RECENT_EVENTS: RecentEventsLimits = { maxEvents: 4_096, maxBytes: 8 * 1024 * 1024 };

/**
 * A bounded run of consecutive committed events, oldest dropped first. Records handed out are frozen and shared
 * by every reader.
 *
 * @example
 * ```ts
 * import { RecentEvents } from "./recent_events.ts";
 * const recent = new RecentEvents({ maxEvents: 2, maxBytes: 1_024 });
 * const event = (token: number) => ({
 *   token,
 *   id: `e${token}`,
 *   timestamp: 0,
 *   payload: { type: "t", revision: "", data: new Uint8Array(1) },
 *   metadata: {},
 * });
 * recent.committed([event(0), event(1), event(2)]);
 * console.log(recent.read(0, 10)); // undefined: token 0 was dropped, read it from the file
 * console.log(recent.read(1, 10)?.map((record) => record.token)); // [1, 2]
 * ```
 */
export class RecentEvents {
  readonly #limits: RecentEventsLimits;
  #records: TrackedEventRecord[] = [];
  /** Index of the oldest kept record in `#records` (dropped ones are cut off in bulk). */
  #start = 0;
  #bytes = 0;

  /** Keeps at most what `limits` allows. */
  constructor(limits: RecentEventsLimits = DEFAULT_RECENT_EVENTS) {
    this.#limits = limits;
  }

  /** Adds events just committed, in token order; a gap from the kept run (events from elsewhere) starts a new run. */
  committed(records: readonly TrackedEventRecord[]): void {
    if (records.length === 0) return;
    const last = this.#records.at(-1);
    if (last !== undefined && last.token + 1 !== records[0].token) this.clear();
    for (const record of records) {
      this.#records.push(freeze(record));
      this.#bytes += record.payload.data.byteLength;
    }
    this.#trim();
  }

  /**
   * Adds events read from the file when they continue the kept run (or nothing is kept), so the next reader at
   * the same place takes them from here; events elsewhere (a reader far behind) leave the run as it is.
   */
  readThrough(records: readonly TrackedEventRecord[]): void {
    const last = this.#records.at(-1);
    if (records.length > 0 && (last === undefined || last.token + 1 === records[0].token)) {
      this.committed(records);
    }
  }

  /**
   * Up to `limit` events from token `from` (inclusive) when `from` lies in the kept run, else undefined (read the
   * file: the events are older, or newer ones may come from elsewhere).
   */
  read(from: number, limit: number): readonly TrackedEventRecord[] | undefined {
    if (this.#start === this.#records.length) return undefined;
    const first = this.#records[this.#start].token;
    const index = this.#start + (from - first);
    if (from < first || index >= this.#records.length) return undefined;
    return this.#records.slice(index, index + limit);
  }

  /** Forgets every kept event. */
  clear(): void {
    this.#records = [];
    this.#start = 0;
    this.#bytes = 0;
  }

  #trim(): void {
    const { maxEvents, maxBytes } = this.#limits;
    while (
      this.#start < this.#records.length &&
      (this.#records.length - this.#start > maxEvents || this.#bytes > maxBytes)
    ) {
      this.#bytes -= this.#records[this.#start].payload.data.byteLength;
      this.#start++;
    }
    // Cut the dropped head off once it is as long as what is kept, so trimming stays O(1) per event on average.
    if (this.#start > 0 && this.#start >= this.#records.length - this.#start) {
      this.#records = this.#records.slice(this.#start);
      this.#start = 0;
    }
  }
}

/** Freezes a record and its parts (the payload's bytes cannot be frozen; readers must not write to them). */
function freeze(record: TrackedEventRecord): TrackedEventRecord {
  Object.freeze(record.payload);
  Object.freeze(record.metadata);
  if (record.aggregate) Object.freeze(record.aggregate);
  return Object.freeze(record);
}
