/**
 * The in-process binding: dendrite's `CommandBus` and `QueryBus` ports implemented directly on soma's routers, so a
 * monolith pays no gRPC hop and shares one routing table with the handlers connected over gRPC. Payloads stay
 * typed messages in-process; they are encoded (with the {@link MessageRegistry}) only when they cross to a gRPC
 * client, and decoded only when they come from one.
 *
 * @module
 */
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import {
  AxonErrorCode,
  type CommandBus,
  type CommandHandler,
  type CommandSubscribeOptions,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_QUERY_TIMEOUT_MS,
  DendriteError,
  type DispatchOptions,
  type MessageRegistry,
  newMessageId,
  type QueryBus,
  type QueryHandler,
  type QueryOptions,
  type QuerySubscribeOptions,
  type Registration,
  type SubscriptionQueryOptions,
  type SubscriptionQueryResult,
  type UpdateFilter,
} from "../dendrite/mod.ts";
import { expectResult } from "../dendrite/commands/command_bus.ts";
import { subscriptionResult } from "../dendrite/queries/query_results.ts";
import type { CommandRouter } from "./commands.ts";
import { LocalCommandEndpoint, type LocalIdentity, LocalQueryEndpoint } from "./local_endpoints.ts";
import { errorOf } from "./local_errors.ts";
import { LocalSubscription } from "./local_subscription.ts";
import { Payload } from "./payload.ts";
import type { QueryRouter } from "./queries.ts";

/** dendrite's CommandBus on soma's command router. */
export class SomaCommandBus implements CommandBus {
  readonly #router: CommandRouter;
  readonly #registry: MessageRegistry;
  readonly #identity: LocalIdentity;
  readonly #subscribed = new Set<string>();

  constructor(router: CommandRouter, registry: MessageRegistry, identity: LocalIdentity) {
    this.#router = router;
    this.#registry = registry;
    this.#identity = identity;
  }

  async dispatch<R extends DescMessage = DescMessage>(
    command: Message,
    options: DispatchOptions<R> = {},
  ): Promise<MessageShape<R> | undefined> {
    const id = options.id ?? newMessageId();
    const outcome = await this.#router.dispatch({
      id,
      name: command.$typeName,
      routingKey: options.routingKey ?? id,
      priority: 0,
      timestamp: Date.now(),
      payload: Payload.ofMessage(command),
      metadata: options.metadata ?? {},
      clientId: this.#identity.clientId,
      component: this.#identity.component,
    }, { timeoutMs: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, signal: options.signal });
    if (!outcome.ok) throw errorOf(outcome.error, "command", command.$typeName, this.#registry);
    if (!outcome.payload) return undefined;
    return expectResult(outcome.payload.message(this.#registry, options.expect), options.expect);
  }

  subscribe<S extends DescMessage>(
    schema: S,
    handler: CommandHandler<MessageShape<S>>,
    options: CommandSubscribeOptions = {},
  ): Promise<Registration> {
    const name = schema.typeName;
    if (this.#subscribed.has(name)) {
      return Promise.reject(new Error(`A handler for "${name}" is already subscribed in this process`));
    }
    const router = this.#router;
    const endpoint = new LocalCommandEndpoint(router, this.#identity, this.#registry, schema, handler);
    router.addEndpoint(endpoint, Infinity);
    router.subscribe(endpoint.streamId, name, options.loadFactor ?? 100);
    this.#subscribed.add(name);
    return Promise.resolve({
      cancel: () => {
        this.#subscribed.delete(name);
        router.removeEndpoint(endpoint.streamId);
        return Promise.resolve();
      },
    });
  }
}

/** dendrite's QueryBus on soma's query router. */
export class SomaQueryBus implements QueryBus {
  readonly #router: QueryRouter;
  readonly #registry: MessageRegistry;
  readonly #identity: LocalIdentity;

  constructor(router: QueryRouter, registry: MessageRegistry, identity: LocalIdentity) {
    this.#router = router;
    this.#registry = registry;
    this.#identity = identity;
  }

  async *query(query: Message, options: QueryOptions = {}): AsyncIterable<Message> {
    const id = options.id ?? newMessageId();
    const results = this.#router.query({
      id,
      name: query.$typeName,
      payload: Payload.ofMessage(query),
      metadata: options.metadata ?? {},
      timestamp: Date.now(),
      clientId: this.#identity.clientId,
      component: this.#identity.component,
      deadline: Date.now() + (options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS),
      priority: 0,
      streaming: false,
    }, options.signal);
    for await (const result of results) {
      if (result.error) throw errorOf(result.error, "query", query.$typeName, this.#registry);
      if (result.payload) yield result.payload.message(this.#registry);
    }
    options.signal?.throwIfAborted();
  }

  async subscriptionQuery(
    query: Message,
    options: SubscriptionQueryOptions = {},
  ): Promise<SubscriptionQueryResult> {
    const id = options.id ?? newMessageId();
    const name = query.$typeName;
    const subscription = new LocalSubscription(this.#router, this.#registry, id, name, options);
    const opened = this.#router.openSubscription({
      id,
      query: {
        id,
        name,
        payload: Payload.ofMessage(query),
        metadata: options.metadata ?? {},
        timestamp: Date.now(),
        clientId: this.#identity.clientId,
        component: this.#identity.component,
      },
    }, subscription);
    if (!opened) {
      subscription.end();
      throw new DendriteError(AxonErrorCode.QUERY_DUPLICATED, `Subscription "${id}" already exists`);
    }
    const { channel, close } = subscription;
    options.signal?.addEventListener("abort", close, { once: true });
    return await subscriptionResult(this.query(query, { ...options, id }), channel, close, options.signal);
  }

  subscribe<S extends DescMessage>(
    schema: S,
    handler: QueryHandler<MessageShape<S>>,
    options: QuerySubscribeOptions = {},
  ): Promise<Registration> {
    const router = this.#router;
    const endpoint = new LocalQueryEndpoint(router, this.#identity, this.#registry, schema, handler);
    router.addEndpoint(endpoint, Infinity);
    router.subscribe(endpoint.streamId, schema.typeName, options.component ?? "default");
    return Promise.resolve({
      cancel: () => {
        router.removeEndpoint(endpoint.streamId);
        return Promise.resolve();
      },
    });
  }

  emitUpdate<Q extends DescMessage>(filter: UpdateFilter<Q>, update: Message): void {
    for (const { sink } of this.#matching(filter)) {
      sink.update({ id: newMessageId(), payload: Payload.ofMessage(update), metadata: {} });
    }
  }

  /** At once: soma's subscription streams bound what each subscriber may fall behind. */
  drained(): Promise<void> {
    return Promise.resolve();
  }

  completeSubscriptions<Q extends DescMessage>(filter: UpdateFilter<Q>): void {
    for (const { sink } of this.#matching(filter)) sink.complete();
  }

  #matching<Q extends DescMessage>(filter: UpdateFilter<Q>) {
    const all = this.#router.subscriptions(filter.query.typeName);
    if (!filter.where) return all;
    return all.filter(({ info }) => {
      try {
        return filter.where!(info.query.payload.message(this.#registry, filter.query) as MessageShape<Q>);
      } catch {
        return false;
      }
    });
  }
}
