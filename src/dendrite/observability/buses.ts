/**
 * Command and query metrics, taken where messages cross the bus ports: {@link meteredCommandBus} and
 * {@link meteredQueryBus} wrap any `CommandBus` / `QueryBus` (in-memory, soma in-process, the Axon connector), so
 * every dispatch, every handled command, every query and every live subscription query of the process is
 * counted in one place, without touching application code.
 *
 * Outcomes: `ok`; `rejected` for a refusal with an application code (a `DomainError`, e.g. `EX001`, also when it
 * comes back from a remote handler); `error` for everything else (no handler, timeout, conflict, connection).
 *
 * @module
 */
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import type { CommandBus, CommandHandler, DispatchOptions } from "../commands/command_bus.ts";
import { DendriteError } from "../core/errors.ts";
import type {
  QueryBus,
  QueryOptions,
  SubscriptionQueryOptions,
  SubscriptionQueryResult,
} from "../queries/query_bus.ts";
import type { Gauge, Metrics } from "./metrics.ts";

/**
 * How a command or query ended.
 *
 * @example
 * ```ts
 * import { type Outcome, outcomeOf } from "./buses.ts";
 * const outcome: Outcome = outcomeOf(new Error("connection reset"));
 * console.log(outcome); // error
 * ```
 */
export type Outcome = "ok" | "rejected" | "error";

/**
 * The outcome of a failure: `rejected` for an application's refusal (a code not starting with `AXONIQ-`).
 *
 * @example
 * ```ts
 * import { outcomeOf } from "./mod.ts";
 * import { DomainError, TimeoutError } from "../mod.ts";
 * console.log(outcomeOf(new DomainError("EX001", "Not recording"))); // rejected
 * console.log(outcomeOf(new TimeoutError("No answer"))); // error
 * ```
 */
export function outcomeOf(error: unknown): Outcome {
  return error instanceof DendriteError && !error.code.startsWith("AXONIQ-") ? "rejected" : "error";
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** A counter and a latency histogram of one kind of message, by type and outcome. */
function timed(
  metrics: Metrics,
  kind: "command" | "query",
  names: readonly [string, string],
  what: string,
): Timed {
  const labels = [kind, "outcome"] as const;
  const count = metrics.counter({ name: names[0], help: `${what}, by outcome.`, labels });
  const duration = metrics.histogram({
    name: names[1],
    help: `${what}: time until the outcome, in seconds.`,
    labels,
  });
  return (type: string, outcome: Outcome, started: number) => {
    const series = { [kind]: type, outcome } as Record<typeof kind | "outcome", string>;
    count.inc(series);
    duration.observe(series, seconds(started));
  };
}

/**
 * The bus, with `dendrite_commands_dispatched_total` / `dendrite_command_dispatch_duration_seconds` for
 * dispatches and `dendrite_commands_handled_total` / `dendrite_command_handling_duration_seconds` for the
 * handlers subscribed through it.
 *
 * @example
 * ```ts
 * import { LocalCommandBus } from "../commands/command_bus.ts";
 * import { Metrics } from "./metrics.ts";
 * import { meteredCommandBus } from "./buses.ts";
 * const bus = meteredCommandBus(new LocalCommandBus(), new Metrics({ meter: false }));
 * ```
 */
export function meteredCommandBus(bus: CommandBus, metrics: Metrics): CommandBus {
  const dispatched = timed(
    metrics,
    "command",
    ["dendrite_commands_dispatched_total", "dendrite_command_dispatch_duration_seconds"],
    "Commands dispatched",
  );
  const handled = timed(
    metrics,
    "command",
    ["dendrite_commands_handled_total", "dendrite_command_handling_duration_seconds"],
    "Commands handled in this process",
  );
  return {
    async dispatch<R extends DescMessage = DescMessage>(
      command: Message,
      options?: DispatchOptions<R>,
    ): Promise<MessageShape<R> | undefined> {
      const started = performance.now();
      try {
        const result = await bus.dispatch(command, options);
        dispatched(command.$typeName, "ok", started);
        return result;
      } catch (error) {
        dispatched(command.$typeName, outcomeOf(error), started);
        throw error;
      }
    },
    subscribe(schema, handler, options) {
      const wrapped: CommandHandler<MessageShape<typeof schema>> = async (command, context) => {
        const started = performance.now();
        try {
          const result = await handler(command, context);
          handled(schema.typeName, "ok", started);
          return result;
        } catch (error) {
          handled(schema.typeName, outcomeOf(error), started);
          throw error;
        }
      };
      return bus.subscribe(schema, wrapped, options);
    },
  };
}

/**
 * The bus, with `dendrite_queries_total` / `dendrite_query_duration_seconds` for queries sent through it and
 * `dendrite_subscription_queries_active` for its live subscription queries (whose initial results count as
 * queries).
 *
 * @example
 * ```ts
 * import { LocalQueryBus } from "../queries/query_bus.ts";
 * import { Metrics } from "./metrics.ts";
 * import { meteredQueryBus } from "./buses.ts";
 * const bus = meteredQueryBus(new LocalQueryBus(), new Metrics({ meter: false }));
 * ```
 */
export function meteredQueryBus(bus: QueryBus, metrics: Metrics): QueryBus {
  const queried = timed(
    metrics,
    "query",
    ["dendrite_queries_total", "dendrite_query_duration_seconds"],
    "Queries sent",
  );
  const active = metrics.gauge({
    name: "dendrite_subscription_queries_active",
    help: "Subscription queries open now (initial result taken, updates not yet ended).",
    labels: ["query"],
  });
  return {
    query: (query, options) => countedQuery(bus, queried, query, options),
    subscriptionQuery: (query, options) => countedSubscription(bus, queried, active, query, options),
    subscribe: (schema, handler, options) => bus.subscribe(schema, handler, options),
    emitUpdate: (filter, update) => bus.emitUpdate(filter, update),
    drained: () => bus.drained(),
    completeSubscriptions: (filter) => bus.completeSubscriptions(filter),
  };
}

/** Records one message's outcome and latency (see {@link timed}). */
type Timed = (type: string, outcome: Outcome, started: number) => void;

/** `bus.query`, counted when its responses end, also when the caller stops early (e.g. after the first). */
async function* countedQuery(
  bus: QueryBus,
  queried: Timed,
  query: Message,
  options: QueryOptions | undefined,
): AsyncIterable<Message> {
  const started = performance.now();
  let outcome: Outcome = "ok";
  try {
    yield* bus.query(query, options);
  } catch (error) {
    outcome = outcomeOf(error);
    throw error;
  } finally {
    queried(query.$typeName, outcome, started);
  }
}

/** `bus.subscriptionQuery`, active in the gauge until it ends; its initial result counted as a query. */
async function countedSubscription(
  bus: QueryBus,
  queried: Timed,
  active: Gauge<"query">,
  query: Message,
  options: SubscriptionQueryOptions = {},
): Promise<SubscriptionQueryResult> {
  const series = { query: query.$typeName };
  let open = true;
  const end = () => {
    if (open) active.dec(series);
    open = false;
  };
  active.inc(series);
  const started = performance.now();
  try {
    const result = await bus.subscriptionQuery(query, {
      ...options,
      onEnd: () => {
        end();
        options.onEnd?.();
      },
    });
    // Its initial result is a query too.
    queried(query.$typeName, "ok", started);
    return {
      initial: result.initial,
      updates: endingWith(result.updates, end),
      close() {
        end();
        result.close();
      },
    };
  } catch (error) {
    end();
    queried(query.$typeName, outcomeOf(error), started);
    throw error;
  }
}

/** `updates`, calling `end` when they end (or the caller stops). */
async function* endingWith(updates: AsyncIterable<Message>, end: () => void): AsyncIterable<Message> {
  try {
    yield* updates;
  } finally {
    end();
  }
}
