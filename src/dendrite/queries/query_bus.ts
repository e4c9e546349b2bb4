/**
 * The QueryBus port (point-to-point, scatter-gather and subscription queries) and its in-process adapter.
 *
 * - `query` sends a query to one handler per component and streams every response.
 * - `subscriptionQuery` returns the initial result and a live stream of updates that handlers (usually a
 *   projection) publish with `emitUpdate`.
 *
 * @module
 */
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import { raceAbort, scopedSignal } from "../core/async.ts";
import { Channel } from "../core/channel.ts";
import { DendriteError, NoHandlerError, TimeoutError } from "../core/errors.ts";
import { type Metadata, newMessageId, type QueryMessage } from "../core/message.ts";
import type { HandlerContext, Registration } from "../commands/command_bus.ts";
import { responsesOf, type SubscriptionQueryResult, subscriptionResult } from "./query_results.ts";

/**
 * Handles one query type: returns one response, several, or none.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import type { QueryHandler } from "./query_bus.ts";
 * import { type GreeterStatusQuery, GreeterStatusSchema } from "../../gen/example/v1/domain_pb.ts";
 * const handler: QueryHandler<GreeterStatusQuery> = () => Promise.resolve(create(GreeterStatusSchema, { recording: true }));
 * ```
 */
export type QueryHandler<Q extends Message = Message> = (
  query: QueryMessage<Q>,
  context: HandlerContext,
) => Promise<Message | readonly Message[] | undefined>;

/**
 * Options of {@link QueryBus.query}.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { LocalQueryBus } from "./query_bus.ts";
 * import { GreeterStatusQuerySchema } from "../../gen/example/v1/domain_pb.ts";
 * const responses = new LocalQueryBus().query(create(GreeterStatusQuerySchema, { greeterId: "main" }), {
 *   metadata: { subject: "alice" },
 *   timeoutMs: 5_000,
 * });
 * ```
 */
export interface QueryOptions {
  /** Metadata sent with the query (e.g. the caller's claims). */
  readonly metadata?: Metadata;
  /** Cancels the query. */
  readonly signal?: AbortSignal;
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** The query's message id (default: a fresh one). */
  readonly id?: string;
  /**
   * A streaming query (Axon's `streamingQuery`): responses arrive as the handler sends them, under flow control,
   * so a slow consumer holds the handler back; the first error ends the stream; leaving the loop early or
   * aborting `signal` cancels the query at the handler. In-process, responses are yielded as the handler returns them.
   */
  readonly streaming?: boolean;
}

/**
 * Options of {@link QueryBus.subscribe}.
 *
 * @example
 * ```ts
 * import type { QuerySubscribeOptions } from "../mod.ts";
 * const options: QuerySubscribeOptions = { component: "greeter-status" }; // one handler per component
 * ```
 */
export interface QuerySubscribeOptions {
  /** The handling component; a query goes to one handler per component (default "default"). */
  readonly component?: string;
}

/**
 * Options of {@link QueryBus.subscriptionQuery}.
 *
 * @example
 * ```ts
 * import { type SubscriptionQueryOptions, SubscriptionLimiter } from "../mod.ts";
 * const release = new SubscriptionLimiter().acquire("10.0.0.1"); // released when the subscription ends
 * const options: SubscriptionQueryOptions = { bufferSize: 64, onEnd: release, timeoutMs: 5_000 };
 * ```
 */
export interface SubscriptionQueryOptions extends QueryOptions {
  /**
   * At most this many updates may wait for the consumer (default 1024). In-process, beyond that the subscription
   * is dropped: it gets no more updates and its consumer a `ChannelOverflowError` after the waiting ones. Through
   * Axon Server (the connector) it is the server's permits: more are granted only as the consumer takes updates,
   * so a slow consumer holds the server back instead.
   */
  readonly bufferSize?: number;
  /**
   * Called once when the subscription ends for any reason: closed, completed, failed, or dropped because its
   * consumer fell behind (e.g. to release a {@link SubscriptionLimiter} lease while a stuck consumer still holds
   * its stream). Not every adapter calls it (the Axon connector does not yet): release in your own cleanup too.
   */
  readonly onEnd?: () => void;
}

/**
 * Selects the subscriptions an update is for.
 *
 * @example
 * ```ts
 * import type { UpdateFilter } from "../mod.ts";
 * import { GreeterStatusQuerySchema } from "../../gen/example/v1/domain_pb.ts";
 * const main: UpdateFilter<typeof GreeterStatusQuerySchema> = // for `emitUpdate`: greeter "main" only
 *   { query: GreeterStatusQuerySchema, where: (query) => query.greeterId === "main" };
 * ```
 */
export interface UpdateFilter<Q extends DescMessage = DescMessage> {
  /** The query schema whose subscriptions get the update. */
  readonly query: Q;
  /** Whether the update is for a subscription made with this query payload (default: all of that type). */
  readonly where?: (query: MessageShape<Q>) => boolean;
}

/**
 * The query bus port.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { LocalQueryBus, type QueryBus } from "./query_bus.ts";
 * import { GreeterStatusQuerySchema, GreeterStatusSchema } from "../../gen/example/v1/domain_pb.ts";
 * const queryBus: QueryBus = new LocalQueryBus();
 * await queryBus.subscribe(GreeterStatusQuerySchema, () => Promise.resolve(create(GreeterStatusSchema)));
 * const live = await queryBus.subscriptionQuery(create(GreeterStatusQuerySchema, { greeterId: "main" }));
 * queryBus.emitUpdate({ query: GreeterStatusQuerySchema }, create(GreeterStatusSchema, { recording: true }));
 * live.close();
 * ```
 */
export interface QueryBus {
  /** Sends a query to its handlers and yields their responses. */
  query(query: Message, options?: QueryOptions): AsyncIterable<Message>;
  /** Subscribes to a query: its initial responses, then its updates. */
  subscriptionQuery(query: Message, options?: SubscriptionQueryOptions): Promise<SubscriptionQueryResult>;
  /** Registers the handler of a query type. */
  subscribe<S extends DescMessage>(
    schema: S,
    handler: QueryHandler<MessageShape<S>>,
    options?: QuerySubscribeOptions,
  ): Promise<Registration>;
  /** Publishes an update to matching subscription queries (in this process and, through a server, elsewhere). */
  emitUpdate<Q extends DescMessage>(filter: UpdateFilter<Q>, update: Message): void;
  /**
   * Resolves once the updates emitted so far fit the bus's outbound window: at once in process, where each
   * subscriber's buffer bounds what it may fall behind; through a server, once the handler stream has room. A
   * projection awaits it after each batch so that it cannot queue updates without bound, nor run ahead of the
   * thread or process that delivers them.
   */
  drained(): Promise<void>;
  /** Completes matching subscription queries. */
  completeSubscriptions<Q extends DescMessage>(filter: UpdateFilter<Q>): void;
}

/**
 * Default query timeout.
 *
 * @example
 * ```ts
 * import { DEFAULT_QUERY_TIMEOUT_MS } from "./query_bus.ts";
 * console.log(DEFAULT_QUERY_TIMEOUT_MS); // 30000
 * ```
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/**
 * The first response of a query, checked against the expected schema; throws when there is none.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { LocalQueryBus, queryOne } from "./query_bus.ts";
 * import { GreeterStatusQuerySchema, GreeterStatusSchema } from "../../gen/example/v1/domain_pb.ts";
 * const queryBus = new LocalQueryBus();
 * await queryBus.subscribe(GreeterStatusQuerySchema, () => Promise.resolve(create(GreeterStatusSchema, { recording: true })));
 * const status = await queryOne(queryBus, create(GreeterStatusQuerySchema, { greeterId: "main" }), GreeterStatusSchema);
 * ```
 */
export async function queryOne<R extends DescMessage>(
  bus: QueryBus,
  query: Message,
  expect: R,
  options?: QueryOptions,
): Promise<MessageShape<R>> {
  for await (const response of bus.query(query, options)) {
    if (response.$typeName !== expect.typeName) {
      throw new DendriteError(
        "AXONIQ-0001",
        `Expected a "${expect.typeName}" response, got "${response.$typeName}"`,
      );
    }
    return response as MessageShape<R>;
  }
  throw new DendriteError("AXONIQ-5000", `No response to query "${query.$typeName}"`);
}

/** Wraps a callback to run at most once (a no-op without one). */
function once(callback: (() => void) | undefined): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    callback?.();
  };
}

interface Subscription {
  readonly drop: () => void;
  readonly query: Message;
  readonly channel: Channel<Message>;
}

export type { SubscriptionQueryResult };

/**
 * Runs query handlers in this process.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { LocalQueryBus, queryOne } from "./query_bus.ts";
 * import { GreeterStatusQuerySchema, GreeterStatusSchema } from "../../gen/example/v1/domain_pb.ts";
 * const bus = new LocalQueryBus();
 * await bus.subscribe(GreeterStatusQuerySchema, async () => create(GreeterStatusSchema, { recording: true }));
 * const status = await queryOne(bus, create(GreeterStatusQuerySchema, {}), GreeterStatusSchema);
 * console.log(status.recording); // true
 * ```
 */
export class LocalQueryBus implements QueryBus {
  /** query name → component → handlers (round robin within a component). */
  readonly #handlers = new Map<string, Map<string, QueryHandler[]>>();
  readonly #roundRobin = new Map<string, number>();
  readonly #subscriptions = new Map<string, Set<Subscription>>();

  /** Runs the query's handlers in this process; see {@link QueryBus.query}. */
  async *query(query: Message, options: QueryOptions = {}): AsyncIterable<Message> {
    const components = this.#handlers.get(query.$typeName);
    if (!components || components.size === 0) throw new NoHandlerError("query", query.$typeName);
    const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    const scope = scopedSignal([options.signal], timeoutMs);
    const signal = scope.signal;
    const message: QueryMessage = {
      id: options.id ?? newMessageId(),
      payload: query,
      metadata: options.metadata ?? {},
      timestamp: Date.now(),
    };
    const chosen = [...components].map(([component, handlers]) => {
      const key = `${query.$typeName}\u0000${component}`;
      const next = this.#roundRobin.get(key) ?? 0;
      this.#roundRobin.set(key, next + 1);
      return handlers[next % handlers.length];
    });
    const settled = await Promise.allSettled(
      chosen.map((handler) => raceAbort(handler(message, { signal }), signal)),
    );
    scope.done(); // (allSettled never rejects) the handlers are done with the signal
    let firstError: unknown;
    let answered = false;
    for (const outcome of settled) {
      if (outcome.status === "fulfilled") {
        answered = true;
        yield* responsesOf(outcome.value);
      } else {
        firstError ??= outcome.reason;
      }
    }
    if (!answered && firstError !== undefined) {
      if (signal.aborted && !options.signal?.aborted && !(firstError instanceof DendriteError)) {
        throw new TimeoutError(`Query "${query.$typeName}" timed out after ${timeoutMs} ms`, "AXONIQ-5006");
      }
      throw firstError;
    }
  }

  /** Subscribes in this process; see {@link QueryBus.subscriptionQuery}. */
  async subscriptionQuery(
    query: Message,
    options: SubscriptionQueryOptions = {},
  ): Promise<SubscriptionQueryResult> {
    const channel = new Channel<Message>(options.bufferSize ?? 1024);
    const end = once(options.onEnd);
    const drop = () => {
      this.#subscriptions.get(query.$typeName)?.delete(subscription);
      end();
    };
    const subscription: Subscription = { query, channel, drop };
    let set = this.#subscriptions.get(query.$typeName);
    if (!set) this.#subscriptions.set(query.$typeName, set = new Set());
    set.add(subscription);
    const close = () => {
      channel.close();
      drop();
    };
    options.signal?.addEventListener("abort", close, { once: true });
    return await subscriptionResult(this.query(query, options), channel, close, options.signal);
  }

  /** Registers the handler in this process; see {@link QueryBus.subscribe}. */
  subscribe<S extends DescMessage>(
    schema: S,
    handler: QueryHandler<MessageShape<S>>,
    options: QuerySubscribeOptions = {},
  ): Promise<Registration> {
    const component = options.component ?? "default";
    let components = this.#handlers.get(schema.typeName);
    if (!components) this.#handlers.set(schema.typeName, components = new Map());
    const list = components.get(component) ?? [];
    list.push(handler as QueryHandler);
    components.set(component, list);
    return Promise.resolve({
      cancel: () => {
        const current = components.get(component)?.filter((h) => h !== handler) ?? [];
        if (current.length > 0) components.set(component, current);
        else components.delete(component);
        return Promise.resolve();
      },
    });
  }

  /** Sends `update` to the matching subscriptions in this process. */
  emitUpdate<Q extends DescMessage>(filter: UpdateFilter<Q>, update: Message): void {
    for (const subscription of this.#matching(filter)) {
      subscription.channel.push(update);
      // A consumer too slow for its buffer: its channel failed; it gets no more updates.
      if (subscription.channel.closed) subscription.drop();
    }
  }

  /** At once: each subscription's buffer bounds what it may fall behind (its consumer is dropped beyond it). */
  drained(): Promise<void> {
    return Promise.resolve();
  }

  /** Completes the matching subscriptions in this process. */
  completeSubscriptions<Q extends DescMessage>(filter: UpdateFilter<Q>): void {
    for (const subscription of this.#matching(filter)) {
      subscription.channel.close();
      subscription.drop();
    }
  }

  #matching<Q extends DescMessage>(filter: UpdateFilter<Q>): Subscription[] {
    const set = this.#subscriptions.get(filter.query.typeName);
    if (!set) return [];
    return [...set].filter((s) => !filter.where || filter.where(s.query as MessageShape<Q>));
  }
}
