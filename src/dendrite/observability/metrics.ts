/**
 * Metrics: counters, histograms and gauges kept in a Prometheus registry (`prom-client`) and rendered in the
 * Prometheus text exposition format by {@link Metrics.render}. Gauges and counters may be *observed*: a callback
 * reads the value at scrape time from state that already exists (a processor's status, the store's head), so
 * nothing is counted twice and nothing runs between scrapes.
 *
 * With OpenTelemetry on (Deno's `OTEL_DENO=true`), every instrument also records through `@opentelemetry/api`'s
 * meter, which Deno exports with its own OTLP exporter; with it off, no OpenTelemetry instrument is created.
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const metrics = new Metrics({ meter: false });
 * const commands = metrics.counter({ name: "app_commands_total", help: "Commands.", labels: ["command"] });
 * commands.inc({ command: "Greet" });
 * console.log(await metrics.render()); // # HELP app_commands_total Commands. …
 * ```
 *
 * @module
 */
import { type Attributes, type Meter, metrics as otelMetrics } from "@opentelemetry/api";
import * as prom from "prom-client";

/**
 * Label values of one series, by label name.
 *
 * @example
 * ```ts
 * import { type Labels, Metrics } from "./mod.ts";
 * const metrics = new Metrics({ meter: false });
 * const requests = metrics.counter({
 *   name: "app_requests_total",
 *   help: "Requests.",
 *   labels: ["route", "status"],
 * });
 * const labels: Labels<"route" | "status"> = { route: "/greet", status: "200" };
 * requests.inc(labels);
 * ```
 */
export type Labels<L extends string> = { readonly [K in L]: string };

/**
 * Latency buckets in seconds: 0.5 ms to 10 s, for in-process calls as well as calls over the network.
 *
 * @example
 * ```ts
 * import { LATENCY_BUCKETS, Metrics } from "./mod.ts";
 * const metrics = new Metrics({ meter: false });
 * // The default buckets plus a 30 s one for slow batch jobs:
 * const jobs = metrics.histogram({
 *   name: "app_job_duration_seconds",
 *   help: "Job durations.",
 *   labels: ["job"],
 *   buckets: [...LATENCY_BUCKETS, 30],
 * });
 * jobs.observe({ job: "reindex" }, 12.5);
 * ```
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/**
 * What every instrument is described by.
 *
 * @example
 * ```ts
 * import { type InstrumentSpec, Metrics } from "./mod.ts";
 * const spec: InstrumentSpec<"greeter"> = {
 *   name: "app_greetings_total",
 *   help: "Greetings accepted.",
 *   labels: ["greeter"],
 * };
 * new Metrics({ meter: false }).counter(spec).inc({ greeter: "main" });
 * ```
 */
export interface InstrumentSpec<L extends string> {
  /** Prometheus name: snake_case, a unit suffix (`_seconds`), `_total` for counters. */
  readonly name: string;
  /** One line saying what it counts (the `# HELP` line). */
  readonly help: string;
  /** The label names every series carries. */
  readonly labels: readonly L[];
}

/**
 * Reports the current value of each series of an observed instrument.
 *
 * @example
 * ```ts
 * import { Metrics, type Observe } from "./mod.ts";
 * const queues = new Map([["mail", 3], ["sms", 0]]);
 * // Read at scrape time: one series per queue.
 * const observe: Observe<"queue"> = (record) => {
 *   for (const [queue, length] of queues) record({ queue }, length);
 * };
 * const spec = { name: "app_queue_length", help: "Queued jobs.", labels: ["queue"] } as const;
 * new Metrics({ meter: false }).observedGauge(spec, observe);
 * ```
 */
export type Observe<L extends string> = (
  record: (labels: Labels<L>, value: number) => void,
) => void | Promise<void>;

/**
 * A monotonically increasing count.
 *
 * @example
 * ```ts
 * import { type Counter, Metrics } from "./mod.ts";
 * const logins: Counter<"outcome"> = new Metrics({ meter: false }).counter({
 *   name: "app_logins_total",
 *   help: "Logins, by outcome.",
 *   labels: ["outcome"],
 * });
 * logins.inc({ outcome: "ok" });
 * logins.inc({ outcome: "refused" }, 2);
 * ```
 */
export interface Counter<L extends string> {
  /** Adds `value` (default 1) to the series of `labels`. */
  inc(labels: Labels<L>, value?: number): void;
}

/**
 * A distribution of values (latencies in seconds).
 *
 * @example
 * ```ts
 * import { type Histogram, Metrics } from "./mod.ts";
 * const latency: Histogram<"route"> = new Metrics({ meter: false }).histogram({
 *   name: "app_request_duration_seconds",
 *   help: "Request latency in seconds.",
 *   labels: ["route"],
 * });
 * const started = performance.now();
 * latency.observe({ route: "/greet" }, (performance.now() - started) / 1000);
 * ```
 */
export interface Histogram<L extends string> {
  /** Records one value in the series of `labels`. */
  observe(labels: Labels<L>, value: number): void;
}

/**
 * A value that goes up and down.
 *
 * @example
 * ```ts
 * import { type Gauge, Metrics } from "./mod.ts";
 * const connections: Gauge<"protocol"> = new Metrics({ meter: false }).gauge({
 *   name: "app_open_connections",
 *   help: "Open connections.",
 *   labels: ["protocol"],
 * });
 * connections.inc({ protocol: "h2" });
 * connections.dec({ protocol: "h2" });
 * connections.set({ protocol: "ws" }, 12);
 * ```
 */
export interface Gauge<L extends string> {
  /** Sets the series of `labels` to `value`. */
  set(labels: Labels<L>, value: number): void;
  /** Raises the series of `labels` by `value` (default 1). */
  inc(labels: Labels<L>, value?: number): void;
  /** Lowers the series of `labels` by `value` (default 1). */
  dec(labels: Labels<L>, value?: number): void;
}

/**
 * Options of {@link Metrics}.
 *
 * @example
 * ```ts
 * import { metrics as otel } from "@opentelemetry/api";
 * import { Metrics, type MetricsOptions } from "./mod.ts";
 * const prometheusOnly: MetricsOptions = { meter: false };
 * const mirrored: MetricsOptions = { meter: otel.getMeter("greeter") }; // also through OpenTelemetry
 * const metrics = new Metrics(Deno.env.get("OTEL_DENO") === "true" ? mirrored : prometheusOnly);
 * ```
 */
export interface MetricsOptions {
  /**
   * The OpenTelemetry meter that mirrors every instrument; `false` for none. Default: the global meter when
   * `OTEL_DENO` is `true` (Deno then exports it over OTLP), else none.
   */
  readonly meter?: Meter | false;
}

function otelEnabled(): boolean {
  try {
    return Deno.env.get("OTEL_DENO") === "true";
  } catch {
    return false; // no permission to read the environment: off
  }
}

/**
 * A set of instruments and its Prometheus text rendering.
 *
 * @example
 * ```ts
 * import { Metrics } from "./mod.ts";
 * const metrics = new Metrics();
 * metrics.gauge({ name: "app_up", help: "1 while the app runs.", labels: [] }).set({}, 1);
 * // Serve it on /metrics:
 * const scrape = async (): Promise<Response> =>
 *   new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
 * ```
 */
export class Metrics {
  readonly #registry = new prom.Registry();
  readonly #meter: Meter | undefined;

  /** An empty set; instruments are added with its methods. */
  constructor(options: MetricsOptions = {}) {
    this.#meter = options.meter === false
      ? undefined
      : options.meter ?? (otelEnabled() ? otelMetrics.getMeter("dendrite") : undefined);
  }

  /** The `content-type` of {@link render}'s text. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** Every instrument in the Prometheus text exposition format (observed ones read now). */
  render(): Promise<string> {
    return this.#registry.metrics();
  }

  /** A counter, counted as things happen. */
  counter<L extends string>(spec: InstrumentSpec<L>): Counter<L> {
    const counter = new prom.Counter({ ...this.#base(spec) });
    const mirror = this.#meter?.createCounter(spec.name, { description: spec.help });
    return {
      inc(labels, value = 1) {
        counter.inc(labels, value);
        mirror?.add(value, labels as Attributes);
      },
    };
  }

  /** A counter whose totals are read at scrape time (e.g. from a component's own counts). */
  observedCounter<L extends string>(spec: InstrumentSpec<L>, observe: Observe<L>): void {
    new prom.Counter({
      ...this.#base(spec),
      async collect() {
        this.reset();
        await observe((labels, value) => this.inc(labels, value));
      },
    });
    this.#meter?.createObservableCounter(spec.name, { description: spec.help })
      .addCallback((result) => observe((labels, value) => result.observe(value, labels as Attributes)));
  }

  /** A histogram (default buckets: {@link LATENCY_BUCKETS}, for durations in seconds). */
  histogram<L extends string>(
    spec: InstrumentSpec<L> & { readonly buckets?: readonly number[] },
  ): Histogram<L> {
    const buckets = [...(spec.buckets ?? LATENCY_BUCKETS)];
    const histogram = new prom.Histogram({ ...this.#base(spec), buckets });
    const mirror = this.#meter?.createHistogram(spec.name, {
      description: spec.help,
      unit: spec.name.endsWith("_seconds") ? "s" : undefined,
      advice: { explicitBucketBoundaries: buckets },
    });
    return {
      observe(labels, value) {
        histogram.observe(labels, value);
        mirror?.record(value, labels as Attributes);
      },
    };
  }

  /** A gauge set as things happen. */
  gauge<L extends string>(spec: InstrumentSpec<L>): Gauge<L> {
    const gauge = new prom.Gauge({ ...this.#base(spec) });
    const mirror = this.#meter?.createUpDownCounter(spec.name, { description: spec.help });
    const values = mirror ? new Map<string, number>() : undefined;
    const change = (labels: Labels<L>, delta: number) => {
      if (!mirror || !values) return;
      const key = JSON.stringify(labels);
      values.set(key, (values.get(key) ?? 0) + delta);
      mirror.add(delta, labels as Attributes);
    };
    return {
      set(labels, value) {
        gauge.set(labels, value);
        change(labels, value - (values?.get(JSON.stringify(labels)) ?? 0));
      },
      inc(labels, value = 1) {
        gauge.inc(labels, value);
        change(labels, value);
      },
      dec(labels, value = 1) {
        gauge.dec(labels, value);
        change(labels, -value);
      },
    };
  }

  /** A gauge whose values are read at scrape time; a series not recorded in a scrape is not shown. */
  observedGauge<L extends string>(spec: InstrumentSpec<L>, observe: Observe<L>): void {
    new prom.Gauge({
      ...this.#base(spec),
      async collect() {
        this.reset();
        await observe((labels, value) => this.set(labels, value));
      },
    });
    this.#meter?.createObservableGauge(spec.name, { description: spec.help })
      .addCallback((result) => observe((labels, value) => result.observe(value, labels as Attributes)));
  }

  #base<L extends string>(spec: InstrumentSpec<L>) {
    return {
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labels],
      registers: [this.#registry],
    };
  }
}
