/**
 * The recent past for soma's status page: a ring buffer of samples taken every few seconds (default every 5 s for
 * 10 minutes) of the store's head, the commands and queries routed, and each processor's lag, error state and dead
 * letters. `GET /v1/history` serves it; the page draws throughput and lag from it.
 *
 * @module
 */
import type { RouteCounts } from "./route_counts.ts";
import type { ProcessorView } from "./status.ts";

/** One processor in a sample: the worst of its segments over all instances. */
export interface ProcessorSample {
  readonly name: string;
  /** The largest lag of its segments (events). */
  readonly lag: number;
  /** Segments reporting an error. */
  readonly failing: number;
  /** Dead letters of its in-process instances. */
  readonly deadLetters: number;
}

/** One sample. */
export interface Sample {
  /** When it was taken (ms since the epoch). */
  readonly at: number;
  /** The store's last token. */
  readonly lastToken: number;
  /** Commands and queries routed since soma started. */
  readonly commands: number;
  readonly queries: number;
  readonly processors: readonly ProcessorSample[];
}

/** `GET /v1/history`: the interval and the samples, oldest first. */
export interface History {
  readonly intervalMs: number;
  readonly samples: readonly Sample[];
}

/** Options of {@link SampleHistory}. */
export interface HistoryOptions {
  /** Time between samples (default 5 000 ms). */
  readonly intervalMs?: number;
  /** Samples kept (default 120: ten minutes at 5 s). */
  readonly capacity?: number;
}

/** What a sample is read from. */
export interface HistorySource {
  readonly commands: RouteCounts;
  readonly queries: RouteCounts;
  lastToken(): Promise<number>;
  processors(): Promise<ProcessorView[]>;
}

function total(counts: RouteCounts): number {
  let sum = 0;
  for (const entry of counts.entries()) sum += entry.count;
  return sum;
}

/** The processors of `views`, one sample each. */
export function processorSamples(views: readonly ProcessorView[]): ProcessorSample[] {
  return views.map((view) => {
    const all = view.instances.flatMap((i) => i.segments);
    return {
      name: view.name,
      lag: all.reduce((most, s) => Math.max(most, s.lag), 0),
      failing: all.filter((s) => s.error !== "").length,
      deadLetters: view.instances.reduce((sum, i) => sum + (i.deadLetters?.count ?? 0), 0),
    };
  });
}

/** A ring buffer of samples, filled by a timer between {@link SampleHistory.start} and {@link SampleHistory.stop}. */
export class SampleHistory {
  readonly intervalMs: number;
  readonly #capacity: number;
  readonly #source: HistorySource;
  readonly #onError: (error: unknown) => void;
  readonly #samples: Sample[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #taking: Promise<void> | undefined;

  constructor(
    source: HistorySource,
    options: HistoryOptions = {},
    onError: (error: unknown) => void = () => {},
  ) {
    this.#source = source;
    this.intervalMs = Math.max(10, options.intervalMs ?? 5_000);
    this.#capacity = Math.max(2, options.capacity ?? 120);
    this.#onError = onError;
  }

  /** Takes a first sample now, then one per interval. */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  /** Stops sampling and waits for a sample under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#taking;
  }

  /** Takes one sample now (skipped while the previous one is still being taken). */
  sample(): Promise<void> {
    this.#taking ??= this.#take().catch(this.#onError).finally(() => this.#taking = undefined);
    return this.#taking;
  }

  /** The samples, oldest first. */
  history(): History {
    return { intervalMs: this.intervalMs, samples: [...this.#samples] };
  }

  async #take(): Promise<void> {
    const [lastToken, views] = await Promise.all([this.#source.lastToken(), this.#source.processors()]);
    this.#samples.push({
      at: Date.now(),
      lastToken,
      commands: total(this.#source.commands),
      queries: total(this.#source.queries),
      processors: processorSamples(views),
    });
    if (this.#samples.length > this.#capacity) this.#samples.splice(0, this.#samples.length - this.#capacity);
  }
}

/** The history without processor names, for callers without the token (the same as the public status shows). */
export function publicHistory(history: History): History {
  return { ...history, samples: history.samples.map((s) => ({ ...s, processors: [] })) };
}
