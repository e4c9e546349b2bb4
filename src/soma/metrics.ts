/**
 * What soma knows, as metrics for `GET /metrics` on its status port (Prometheus text format): commands and queries
 * it routed, events in its store, clients, handlers, subscription queries, and the event processors its clients
 * report (and those in its own process) with position, lag, error state and dead letters. Everything is read at
 * scrape time from the routers, the store and the status views; nothing runs between scrapes.
 *
 * Access: the same as the processor state of the status page (soma's access token), see http.ts.
 *
 * @module
 */
import { Metrics, type MetricsOptions } from "../dendrite/observability/mod.ts";
import type { EventStore } from "../dendrite/mod.ts";
import { type History, type HistoryOptions, SampleHistory } from "./history.ts";
import type { RouteCounts } from "./route_counts.ts";
import type { ProcessorView, SomaStatus } from "./status.ts";

/** Where soma's metrics are read from. */
export interface SomaMetricsSource {
  readonly commands: RouteCounts;
  readonly queries: RouteCounts;
  status(): Promise<SomaStatus>;
  processors(): Promise<ProcessorView[]>;
}

type SegmentLabels = { processor: string; client: string; segment: string };

/** Calls `each` for every segment of every processor instance of `views`. */
function segments(
  views: readonly ProcessorView[],
  each: (labels: SegmentLabels, segment: ProcessorView["instances"][number]["segments"][number]) => void,
): void {
  for (const view of views) {
    for (const instance of view.instances) {
      for (const s of instance.segments) {
        each({ processor: view.name, client: instance.clientId, segment: String(s.segment) }, s);
      }
    }
  }
}

/**
 * soma's instruments on a fresh {@link Metrics}: `dendrite_soma_*`.
 *
 * @example
 * ```ts ignore
 * const metrics = somaMetrics({ commands: commandRouter.routed, queries: queryRouter.routed, status, processors });
 * console.log(await metrics.render());
 * ```
 */
export function somaMetrics(source: SomaMetricsSource, options: MetricsOptions = {}): Metrics {
  const metrics = new Metrics(options);
  routeCounters(metrics, source);
  // One status read per scrape, shared by the instruments below.
  let status: Promise<SomaStatus> | undefined;
  let views: Promise<ProcessorView[]> | undefined;
  statusGauges(
    metrics,
    () => status ??= source.status().finally(() => queueMicrotask(() => status = undefined)),
  );
  processorGauges(
    metrics,
    () => views ??= source.processors().finally(() => queueMicrotask(() => views = undefined)),
  );
  return metrics;
}

/** Commands and queries routed, by name and outcome. */
function routeCounters(metrics: Metrics, source: SomaMetricsSource): void {
  metrics.observedCounter({
    name: "dendrite_soma_commands_routed_total",
    help: "Commands soma routed, by outcome (ok, rejected by the handler, error, cancelled by the sender).",
    labels: ["command", "outcome"],
  }, (record) => {
    for (const c of source.commands.entries()) record({ command: c.name, outcome: c.outcome }, c.count);
  });
  metrics.observedCounter({
    name: "dendrite_soma_queries_routed_total",
    help: "Queries soma routed to handlers (routed) or refused for want of one (no_handler).",
    labels: ["query", "outcome"],
  }, (record) => {
    for (const q of source.queries.entries()) record({ query: q.name, outcome: q.outcome }, q.count);
  });
}

/** Events, clients, handlers and subscription queries, from the status read of this scrape. */
function statusGauges(metrics: Metrics, current: () => Promise<SomaStatus>): void {
  metrics.observedCounter({
    name: "dendrite_soma_events_appended_total",
    help: "Events in soma's event store (its head token + 1); rate() gives the append rate.",
    labels: [],
  }, async (record) => record({}, (await current()).events.lastToken + 1));
  metrics.observedGauge({
    name: "dendrite_soma_clients",
    help: "Clients connected over gRPC.",
    labels: [],
  }, async (record) => record({}, (await current()).clients.filter((c) => !c.local).length));
  metrics.observedGauge({
    name: "dendrite_soma_handlers",
    help: "Handler subscriptions soma routes to, by kind (command, query).",
    labels: ["kind"],
  }, async (record) => {
    const s = await current();
    record({ kind: "command" }, s.commandHandlers.length);
    record({ kind: "query" }, s.queryHandlers.length);
  });
  metrics.observedGauge({
    name: "dendrite_soma_subscription_queries",
    help: "Subscription queries open in soma.",
    labels: [],
  }, async (record) => record({}, (await current()).subscriptionQueries));
}

/** Per processor segment: position, lag, failing; per in-process processor: dead letters. */
function processorGauges(metrics: Metrics, processors: () => Promise<ProcessorView[]>): void {
  const segmentLabels = ["processor", "client", "segment"] as const;
  metrics.observedGauge({
    name: "dendrite_soma_processor_segment_position",
    help:
      "Token of the last event a processor segment handled, as its instance reported it (-1 before the first).",
    labels: segmentLabels,
  }, async (record) => segments(await processors(), (labels, s) => record(labels, s.tokenPosition)));
  metrics.observedGauge({
    name: "dendrite_soma_processor_segment_lag_events",
    help: "Events between soma's head and a processor segment's reported position.",
    labels: segmentLabels,
  }, async (record) => segments(await processors(), (labels, s) => record(labels, s.lag)));
  metrics.observedGauge({
    name: "dendrite_soma_processor_segment_failing",
    help: "1 while a processor segment reports an error, else 0.",
    labels: segmentLabels,
  }, async (record) => segments(await processors(), (labels, s) => record(labels, s.error === "" ? 0 : 1)));
  metrics.observedGauge({
    name: "dendrite_soma_processor_dead_letters",
    help: "Dead letters of the processors running in soma's own process.",
    labels: ["processor"],
  }, async (record) => {
    for (const view of await processors()) {
      for (const instance of view.instances) {
        if (instance.deadLetters) record({ processor: view.name }, instance.deadLetters.count);
      }
    }
  });
}

/**
 * soma's metrics and its sample history, with what the status surface serves of them (`GET /metrics`,
 * `GET /v1/history`). The history samples between `history.start()` and `history.stop()`.
 */
export function somaObservability(
  source: SomaMetricsSource & { readonly store: Pick<EventStore, "lastToken"> },
  historyOptions: HistoryOptions | undefined,
  onError: (error: unknown) => void,
): {
  readonly history: SampleHistory;
  readonly source: {
    metrics(): Promise<{ text: string; contentType: string }>;
    history(): History;
  };
} {
  const metrics = somaMetrics(source);
  const history = new SampleHistory(
    { ...source, lastToken: () => source.store.lastToken() },
    historyOptions,
    onError,
  );
  return {
    history,
    source: {
      metrics: async () => ({ text: await metrics.render(), contentType: metrics.contentType }),
      history: () => history.history(),
    },
  };
}
