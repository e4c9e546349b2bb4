/**
 * Event processor metrics, read at scrape time: each tracked processor's `status()` (segments, positions, error
 * state, counts) and dead-letter count, and the event store's head for the lag. Nothing is added to the
 * processors' hot path.
 *
 * @module
 */
import type { DeadLetterSummary } from "../processing/sequenced_dead_letters.ts";
import type { ProcessorStatus, SegmentStatus } from "../processing/processor_options.ts";
import type { Metrics, Observe } from "./metrics.ts";

/**
 * What a processor offers to be measured (dendrite's `TrackingProcessor` has all of it).
 *
 * @example
 * ```ts
 * import type { MeasuredProcessor } from "./processors.ts";
 * const idle: MeasuredProcessor = {
 *   name: "greetings",
 *   status: () => ({
 *     name: "greetings",
 *     owner: "node-1",
 *     mode: "Tracking",
 *     running: false,
 *     error: false,
 *     claimLimit: 0,
 *     members: 1,
 *     deadLettered: 0,
 *     errors: 0,
 *     segments: [],
 *   }),
 * };
 * console.log(idle.status().running);
 * ```
 */
export interface MeasuredProcessor {
  /** The processor's name (the `processor` label). */
  readonly name: string;
  /** Its segments, positions and error counts now. */
  status(): ProcessorStatus;
  /** Its dead letters, when it keeps any. */
  deadLetterSummary?(limit?: number): Promise<DeadLetterSummary>;
}

/**
 * The processors of this process, measured: `dendrite_processor_segment_position`,
 * `dendrite_processor_segment_lag_events` (head − position), `dendrite_processor_segment_failing`,
 * `dendrite_processor_running`, `dendrite_processor_errors_total`, `dendrite_processor_dead_lettered_total`,
 * `dendrite_processor_dead_letters`, and `dendrite_events_appended_total` (the store's head token + 1).
 *
 * @example
 * ```ts
 * import { ProcessorMetrics } from "./processors.ts";
 * import { Metrics } from "./metrics.ts";
 * import { InMemoryEventStore } from "../eventstore/memory.ts";
 * const eventStore = new InMemoryEventStore();
 * const tracked = new ProcessorMetrics(new Metrics(), () => eventStore.lastToken());
 * const untrack = tracked.track({ name: "greetings", status: () => ({ name: "greetings", owner: "me", mode: "Tracking", running: false, error: false, claimLimit: 0, members: 1, deadLettered: 0, errors: 0, segments: [] }) });
 * untrack();
 * ```
 */
export class ProcessorMetrics {
  readonly #processors = new Set<MeasuredProcessor>();

  /** Registers the instruments; `head` reads the event store's last token (-1 when empty). */
  constructor(metrics: Metrics, head: () => Promise<number>) {
    const storeHead = new StoreHead(head);
    this.#storeInstruments(metrics, storeHead);
    this.#segmentInstruments(metrics, storeHead);
    this.#processorInstruments(metrics);
  }

  /** Measures `processor` until the returned function is called. */
  track(processor: MeasuredProcessor): () => void {
    this.#processors.add(processor);
    return () => {
      this.#processors.delete(processor);
    };
  }

  #statuses(): ProcessorStatus[] {
    return [...this.#processors].map((p) => p.status());
  }

  /** The event store's head: how often it could not be read, and the events appended. */
  #storeInstruments(metrics: Metrics, head: StoreHead): void {
    metrics.observedCounter({
      name: "dendrite_event_store_head_read_failures_total",
      help:
        "Scrapes that could not read the event store's head (no lag then; appended events stay as last read).",
      labels: [],
    }, async (record) => {
      await head.read();
      record({}, head.failures);
    });
    metrics.observedCounter({
      name: "dendrite_events_appended_total",
      help: "Events appended to the event store, all processes together (its head token + 1).",
      labels: [],
    }, async (record) => {
      // A counter never goes back: without the store, the last head read stands.
      const last = await head.read() ?? head.known;
      if (last !== undefined) record({}, last + 1);
    });
  }

  /** Per segment: position, lag behind the store's head, failing. */
  #segmentInstruments(metrics: Metrics, head: StoreHead): void {
    const labels = ["processor", "segment"] as const;
    const each = (value: (s: SegmentStatus) => number): Observe<typeof labels[number]> => (record) => {
      for (const status of this.#statuses()) {
        for (const s of status.segments) {
          record({ processor: status.name, segment: String(s.segment) }, value(s));
        }
      }
    };
    metrics.observedGauge({
      name: "dendrite_processor_segment_position",
      help: "Token of the last event a segment handled (-1 before the first).",
      labels,
    }, each((s) => s.position));
    metrics.observedGauge({
      name: "dendrite_processor_segment_lag_events",
      help: "Events between the event store's head and a segment's position.",
      labels,
    }, async (record) => {
      if (this.#processors.size === 0) return;
      const last = await head.read();
      if (last !== undefined) each((s) => Math.max(0, last - s.position))(record);
    });
    metrics.observedGauge({
      name: "dendrite_processor_segment_failing",
      help: "1 while a segment retries a failing event (handler or store error), else 0.",
      labels,
    }, each((s) => s.error === undefined ? 0 : 1));
  }

  /** Per processor: running, errors, dead-lettered events, dead letters waiting. */
  #processorInstruments(metrics: Metrics): void {
    const labels = ["processor"] as const;
    const each = (value: (status: ProcessorStatus) => number): Observe<"processor"> => (record) => {
      for (const status of this.#statuses()) record({ processor: status.name }, value(status));
    };
    metrics.observedGauge({
      name: "dendrite_processor_running",
      help: "1 while the processor runs in this process, 0 while it is paused.",
      labels,
    }, each((status) => status.running ? 1 : 0));
    metrics.observedCounter({
      name: "dendrite_processor_errors_total",
      help: "Handler and store errors of the processor in this process (every failed attempt).",
      labels,
    }, each((status) => status.errors));
    metrics.observedCounter({
      name: "dendrite_processor_dead_lettered_total",
      help: "Events the processor in this process dead-lettered (parked or queued behind a parked one).",
      labels,
    }, each((status) => status.deadLettered));
    metrics.observedGauge({
      name: "dendrite_processor_dead_letters",
      help: "Dead letters waiting in the processor's queue (all its instances).",
      labels,
    }, async (record) => {
      for (const p of this.#processors) {
        if (p.deadLetterSummary) record({ processor: p.name }, (await p.deadLetterSummary(0)).count);
      }
    });
  }
}

/**
 * The event store's head, read once per scrape (the instruments of one scrape share the read); undefined when the
 * store cannot be reached, so that the rest of the scrape still answers.
 */
class StoreHead {
  readonly #head: () => Promise<number>;
  #reading: Promise<number | undefined> | undefined;
  /** The last head read. */
  known: number | undefined;
  /** Reads that failed. */
  failures = 0;

  constructor(head: () => Promise<number>) {
    this.#head = head;
  }

  read(): Promise<number | undefined> {
    return this.#reading ??= this.#head().then(
      (last) => this.known = last,
      () => {
        this.failures++;
        return undefined;
      },
    ).finally(() => queueMicrotask(() => this.#reading = undefined));
  }
}
