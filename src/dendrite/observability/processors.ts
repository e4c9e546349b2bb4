/**
 * Event processor metrics, read at scrape time: each tracked processor's `status()` (segments, positions, error
 * state, counts) and dead-letter count, and the event store's head for the lag. Nothing is added to the
 * processors' hot path.
 *
 * @module
 */
import type { DeadLetterSummary } from "../processing/sequenced_dead_letters.ts";
import type { ProcessorStatus } from "../processing/processor_options.ts";
import type { Metrics } from "./metrics.ts";

/** What a processor offers to be measured (dendrite's `TrackingProcessor` has all of it). */
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
    const all = () => [...this.#processors].map((p) => ({ processor: p, status: p.status() }));
    let known: number | undefined;
    let failures = 0;
    let reading: Promise<number | undefined> | undefined;
    /**
     * The head, read once per scrape (the instruments of one scrape share the read); undefined when the store
     * cannot be reached, so that the rest of the scrape still answers.
     */
    const readHead = () =>
      reading ??= head().then(
        (last) => known = last,
        () => {
          failures++;
          return undefined;
        },
      ).finally(() => queueMicrotask(() => reading = undefined));
    metrics.observedCounter({
      name: "dendrite_event_store_head_read_failures_total",
      help:
        "Scrapes that could not read the event store's head (no lag then; appended events stay as last read).",
      labels: [],
    }, async (record) => {
      await readHead();
      record({}, failures);
    });
    const segment = ["processor", "segment"] as const;
    const processor = ["processor"] as const;
    metrics.observedCounter({
      name: "dendrite_events_appended_total",
      help: "Events appended to the event store, all processes together (its head token + 1).",
      labels: [],
    }, async (record) => {
      // A counter never goes back: without the store, the last head read stands.
      const last = await readHead() ?? known;
      if (last !== undefined) record({}, last + 1);
    });
    metrics.observedGauge({
      name: "dendrite_processor_segment_position",
      help: "Token of the last event a segment handled (-1 before the first).",
      labels: segment,
    }, (record) => {
      for (const { status } of all()) {
        for (const s of status.segments) {
          record({ processor: status.name, segment: String(s.segment) }, s.position);
        }
      }
    });
    metrics.observedGauge({
      name: "dendrite_processor_segment_lag_events",
      help: "Events between the event store's head and a segment's position.",
      labels: segment,
    }, async (record) => {
      const processors = all();
      if (processors.length === 0) return;
      const last = await readHead();
      if (last === undefined) return;
      for (const { status } of processors) {
        for (const s of status.segments) {
          record({ processor: status.name, segment: String(s.segment) }, Math.max(0, last - s.position));
        }
      }
    });
    metrics.observedGauge({
      name: "dendrite_processor_segment_failing",
      help: "1 while a segment retries a failing event (handler or store error), else 0.",
      labels: segment,
    }, (record) => {
      for (const { status } of all()) {
        for (const s of status.segments) {
          record({ processor: status.name, segment: String(s.segment) }, s.error === undefined ? 0 : 1);
        }
      }
    });
    metrics.observedGauge({
      name: "dendrite_processor_running",
      help: "1 while the processor runs in this process, 0 while it is paused.",
      labels: processor,
    }, (record) => {
      for (const { status } of all()) record({ processor: status.name }, status.running ? 1 : 0);
    });
    metrics.observedCounter({
      name: "dendrite_processor_errors_total",
      help: "Handler and store errors of the processor in this process (every failed attempt).",
      labels: processor,
    }, (record) => {
      for (const { status } of all()) record({ processor: status.name }, status.errors);
    });
    metrics.observedCounter({
      name: "dendrite_processor_dead_lettered_total",
      help: "Events the processor in this process dead-lettered (parked or queued behind a parked one).",
      labels: processor,
    }, (record) => {
      for (const { status } of all()) record({ processor: status.name }, status.deadLettered);
    });
    metrics.observedGauge({
      name: "dendrite_processor_dead_letters",
      help: "Dead letters waiting in the processor's queue (all its instances).",
      labels: processor,
    }, async (record) => {
      for (const p of this.#processors) {
        if (p.deadLetterSummary) record({ processor: p.name }, (await p.deadLetterSummary(0)).count);
      }
    });
  }

  /** Measures `processor` until the returned function is called. */
  track(processor: MeasuredProcessor): () => void {
    this.#processors.add(processor);
    return () => {
      this.#processors.delete(processor);
    };
  }
}
