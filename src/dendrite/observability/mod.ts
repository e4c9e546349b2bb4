/**
 * Observability: metrics in the Prometheus text format (and through OpenTelemetry when Deno's `OTEL_DENO=true`),
 * taken at the bus ports and read from the processors' status at scrape time.
 *
 * @example
 * ```ts
 * import { meteredCommandBus, Metrics } from "./mod.ts";
 * import { LocalCommandBus } from "../mod.ts";
 * const metrics = new Metrics();
 * const commandBus = meteredCommandBus(new LocalCommandBus(), metrics);
 * console.log(typeof commandBus.dispatch, await metrics.render());
 * ```
 *
 * @module
 */
export {
  type Counter,
  type Gauge,
  type Histogram,
  type InstrumentSpec,
  type Labels,
  LATENCY_BUCKETS,
  Metrics,
  type MetricsOptions,
  type Observe,
} from "./metrics.ts";
export { meteredCommandBus, meteredQueryBus, type Outcome, outcomeOf } from "./buses.ts";
export { type MeasuredProcessor, ProcessorMetrics } from "./processors.ts";
export { tracedCommandBus, tracedQueryBus } from "./traced_buses.ts";
export { spanContextOf, traceContextOf, TraceKeys, tracing, withTraceContext } from "./trace.ts";
