/**
 * Traced buses: the one place where commands and queries get their spans and carry their trace context.
 *
 * A traced bus wraps any adapter (in-process, soma, the Axon connector). Sending (`dispatch`, `query`,
 * `subscriptionQuery`) opens a client span and writes its context into the message's metadata; a subscribed
 * handler runs in a server span whose parent is the context the metadata carries, so one trace goes from the
 * caller, through soma or Axon Server, to the handler in another process. `emitUpdate` gets a producer span in
 * the context it is called in (a projection's event handling).
 *
 * @module
 */
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import { type Attributes, type Context, context, SpanKind, trace } from "@opentelemetry/api";
import type {
  CommandBus,
  CommandHandler,
  CommandSubscribeOptions,
  DispatchOptions,
  Registration,
} from "../commands/command_bus.ts";
import type { Metadata } from "../core/message.ts";
import type {
  QueryBus,
  QueryHandler,
  QueryOptions,
  QuerySubscribeOptions,
  SubscriptionQueryOptions,
  SubscriptionQueryResult,
  UpdateFilter,
} from "../queries/query_bus.ts";
import {
  failSpan,
  inSpan,
  messageAttributes,
  traceContextOf,
  tracer,
  tracing,
  withTraceContext,
} from "./trace.ts";

function sendAttributes(kind: "command" | "query", name: string): Attributes {
  return { "dendrite.message.kind": kind, "dendrite.message.name": name };
}

/** The metadata of a message sent from `ctx`. */
function traced(metadata: Metadata | undefined, ctx: Context): Metadata {
  return withTraceContext(metadata ?? {}, ctx);
}

/** A command bus whose dispatches and handlers are traced. */
class TracedCommandBus implements CommandBus {
  readonly #inner: CommandBus;

  constructor(inner: CommandBus) {
    this.#inner = inner;
  }

  dispatch<R extends DescMessage = DescMessage>(
    command: Message,
    options: DispatchOptions<R> = {},
  ): Promise<MessageShape<R> | undefined> {
    const name = command.$typeName;
    return inSpan(
      `dispatch ${name}`,
      { kind: SpanKind.CLIENT, attributes: sendAttributes("command", name) },
      () =>
        this.#inner.dispatch(command, { ...options, metadata: traced(options.metadata, context.active()) }),
    );
  }

  subscribe<S extends DescMessage>(
    schema: S,
    handler: CommandHandler<MessageShape<S>>,
    options?: CommandSubscribeOptions,
  ): Promise<Registration> {
    return this.#inner.subscribe(schema, (command, handlerContext) =>
      inSpan(
        `handle ${command.payload.$typeName}`,
        {
          kind: SpanKind.SERVER,
          parent: traceContextOf(command.metadata),
          attributes: {
            ...messageAttributes("command", command),
            "dendrite.routing_key": command.routingKey,
          },
        },
        () => handler(command, handlerContext),
      ), options);
  }
}

/** A query bus whose queries, handlers and updates are traced. */
class TracedQueryBus implements QueryBus {
  readonly #inner: QueryBus;

  constructor(inner: QueryBus) {
    this.#inner = inner;
  }

  /** The query span lasts until the responses end or the caller stops reading (also for streaming queries). */
  async *query(query: Message, options: QueryOptions = {}): AsyncIterable<Message> {
    const name = query.$typeName;
    const parent = context.active();
    const span = tracer.startSpan(
      `query ${name}`,
      { kind: SpanKind.CLIENT, attributes: sendAttributes("query", name) },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const metadata = traced(options.metadata, ctx);
    const responses = context.with(ctx, () => this.#inner.query(query, { ...options, metadata }))
      [Symbol.asyncIterator]();
    let done = false;
    try {
      while (true) {
        const next = await context.with(ctx, () => responses.next());
        if (next.done) break;
        yield next.value;
      }
      done = true;
    } catch (error) {
      done = true;
      failSpan(span, error);
      throw error;
    } finally {
      if (!done) await context.with(ctx, async () => await responses.return?.());
      span.end();
    }
  }

  subscriptionQuery(
    query: Message,
    options: SubscriptionQueryOptions = {},
  ): Promise<SubscriptionQueryResult> {
    const name = query.$typeName;
    return inSpan(
      `subscribe ${name}`,
      { kind: SpanKind.CLIENT, attributes: sendAttributes("query", name) },
      () =>
        this.#inner.subscriptionQuery(query, {
          ...options,
          metadata: traced(options.metadata, context.active()),
        }),
    );
  }

  subscribe<S extends DescMessage>(
    schema: S,
    handler: QueryHandler<MessageShape<S>>,
    options?: QuerySubscribeOptions,
  ): Promise<Registration> {
    return this.#inner.subscribe(schema, (query, handlerContext) =>
      inSpan(
        `handle ${query.payload.$typeName}`,
        {
          kind: SpanKind.SERVER,
          parent: traceContextOf(query.metadata),
          attributes: messageAttributes("query", query),
        },
        () => handler(query, handlerContext),
      ), options);
  }

  emitUpdate<Q extends DescMessage>(filter: UpdateFilter<Q>, update: Message): void {
    const parent = context.active();
    const span = tracer.startSpan(`update ${filter.query.typeName}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        "dendrite.message.name": filter.query.typeName,
        "dendrite.update.name": update.$typeName,
      },
    }, parent);
    try {
      context.with(trace.setSpan(parent, span), () => this.#inner.emitUpdate(filter, update));
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  drained(): Promise<void> {
    return this.#inner.drained();
  }

  completeSubscriptions<Q extends DescMessage>(filter: UpdateFilter<Q>): void {
    this.#inner.completeSubscriptions(filter);
  }
}

/**
 * The command bus, traced when tracing is on (else `bus` itself: no cost when off).
 *
 * @example
 * ```ts
 * import { tracedCommandBus } from "./traced_buses.ts";
 * import { LocalCommandBus } from "../commands/command_bus.ts";
 * const commandBus = tracedCommandBus(new LocalCommandBus()); // the bus itself when tracing is off
 * ```
 */
export function tracedCommandBus(bus: CommandBus): CommandBus {
  return tracing.enabled ? new TracedCommandBus(bus) : bus;
}

/**
 * The query bus, traced when tracing is on (else `bus` itself).
 *
 * @example
 * ```ts
 * import { tracedQueryBus } from "./traced_buses.ts";
 * import { LocalQueryBus } from "../queries/query_bus.ts";
 * const queryBus = tracedQueryBus(new LocalQueryBus());
 * ```
 */
export function tracedQueryBus(bus: QueryBus): QueryBus {
  return tracing.enabled ? new TracedQueryBus(bus) : bus;
}
