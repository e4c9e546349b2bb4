/**
 * The in-process binding: dendrite's `CommandBus` and `QueryBus` ports implemented directly on soma's routers, so a
 * monolith pays no gRPC hop and shares one routing table with the handlers connected over gRPC. Payloads stay
 * typed messages in-process; they are encoded (with the {@link MessageRegistry}) only when they cross to a gRPC
 * client, and decoded only when they come from one.
 *
 * @module
 */
import { create, type DescMessage, type Message, type MessageShape } from "@bufbuild/protobuf";
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
  NoHandlerError,
  type QueryBus,
  type QueryHandler,
  type QueryOptions,
  type QuerySubscribeOptions,
  type Registration,
  type SubscriptionQueryOptions,
  type SubscriptionQueryResult,
  TimeoutError,
  type UpdateFilter,
} from "../dendrite/mod.ts";
import { Channel } from "../dendrite/core/channel.ts";
import { expectResult } from "../dendrite/commands/command_bus.ts";
import { responsesOf, subscriptionResult } from "../dendrite/queries/query_bus.ts";
import type { CommandEndpoint, CommandRouter, HandlingError } from "./commands.ts";
import { fromErrorMessage, toErrorMessage } from "../dendrite/axon/protocol/errors.ts";
import { toSerializedObject } from "../dendrite/axon/protocol/messages.ts";
import { ErrorMessageSchema } from "../gen/axon/common_pb.ts";
import { Payload } from "./payload.ts";
import type { QueryEndpoint, QueryRouter, SubscriptionSink } from "./queries.ts";

/** Who in-process messages say they come from. */
export interface LocalIdentity {
  readonly clientId: string;
  readonly component: string;
}

/** A handler's failure as an Axon error (the original error travels along for in-process callers). */
export function handlingErrorOf(error: unknown, fallbackCode: string, location: string): HandlingError {
  const kind = fallbackCode === AxonErrorCode.QUERY_EXECUTION_ERROR ? "query" : "command";
  const { code, message } = toErrorMessage(error, location, kind);
  const details = [...message.details];
  for (
    let cause = error instanceof Error ? error.cause : undefined;
    cause !== undefined && details.length < 10;
  ) {
    details.push(cause instanceof Error ? cause.message : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  const errorDetails = error instanceof DendriteError ? error.errorDetails : undefined;
  return {
    code,
    message: message.message,
    details,
    location,
    errorCode: message.errorCode,
    payload: errorDetails ? Payload.ofSerialized(errorDetails) : undefined,
    cause: error,
  };
}

/** The error an in-process caller sees for an Axon error outcome. */
export function errorOf(
  error: HandlingError,
  kind: "command" | "query",
  name: string,
  registry: MessageRegistry,
): unknown {
  if (error.cause !== undefined) return error.cause;
  if (error.location === "soma" && error.code === AxonErrorCode.COMMAND_TIMEOUT) {
    return new TimeoutError(error.message, error.code);
  }
  const message = create(ErrorMessageSchema, {
    message: error.message,
    details: [...error.details],
    location: error.location,
    errorCode: error.errorCode ?? error.code,
  });
  const details = error.payload ? toSerializedObject(error.payload.serialized(registry)) : undefined;
  const typed = fromErrorMessage(error.code, message, name, details);
  return typed instanceof NoHandlerError ? new NoHandlerError(kind, name) : typed;
}

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
    this.#registry.add(schema, this.#registry.has(name) ? this.#registry.revision(name) : "");
    const router = this.#router;
    const registry = this.#registry;
    const streamId = `${this.#identity.clientId}.${crypto.randomUUID()}`;
    const location = this.#identity.clientId;
    const endpoint: CommandEndpoint = {
      streamId,
      clientId: this.#identity.clientId,
      component: this.#identity.component,
      local: true,
      deliver(command) {
        (async () => {
          const payload = command.payload.message(registry, schema) as MessageShape<S>;
          return await handler({
            id: command.id,
            payload,
            metadata: command.metadata,
            timestamp: command.timestamp,
            routingKey: command.routingKey,
          }, { signal: command.signal });
        })().then(
          (result) =>
            router.respond(streamId, command.id, {
              ok: true,
              id: newMessageId(),
              payload: result ? Payload.ofMessage(result) : undefined,
              metadata: {},
            }),
          (error) =>
            router.respond(streamId, command.id, {
              ok: false,
              id: newMessageId(),
              error: handlingErrorOf(error, AxonErrorCode.COMMAND_EXECUTION_ERROR, location),
            }),
        );
      },
    };
    router.addEndpoint(endpoint, Infinity);
    router.subscribe(streamId, name, options.loadFactor ?? 100);
    this.#subscribed.add(name);
    return Promise.resolve({
      cancel: () => {
        this.#subscribed.delete(name);
        router.removeEndpoint(streamId);
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
    const channel = new Channel<Message>(options.bufferSize ?? 1024);
    const router = this.#router;
    const registry = this.#registry;
    const name = query.$typeName;
    let ended = false;
    const end = () => {
      if (!ended) options.onEnd?.();
      ended = true;
    };
    const drop = () => {
      router.closeSubscription(id);
      end();
    };
    const close = () => {
      drop();
      channel.close();
    };
    const sink: SubscriptionSink = {
      update(update) {
        if (update.error) {
          channel.fail(errorOf(update.error, "query", name, registry));
        } else if (update.payload) {
          try {
            channel.push(update.payload.message(registry));
          } catch (error) {
            channel.fail(error);
          }
        }
        // Failed, or dropped because its consumer fell behind its buffer: no more updates.
        if (channel.closed) drop();
      },
      complete: close,
      completeExceptionally(error) {
        drop();
        channel.fail(errorOf(error, "query", name, registry));
      },
    };
    const opened = router.openSubscription({
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
    }, sink);
    if (!opened) {
      end();
      throw new DendriteError(AxonErrorCode.QUERY_DUPLICATED, `Subscription "${id}" already exists`);
    }
    options.signal?.addEventListener("abort", close, { once: true });
    return await subscriptionResult(this.query(query, { ...options, id }), channel, close, options.signal);
  }

  subscribe<S extends DescMessage>(
    schema: S,
    handler: QueryHandler<MessageShape<S>>,
    options: QuerySubscribeOptions = {},
  ): Promise<Registration> {
    const router = this.#router;
    const registry = this.#registry;
    const name = schema.typeName;
    registry.add(schema, registry.has(name) ? registry.revision(name) : "");
    const streamId = `${this.#identity.clientId}.${crypto.randomUUID()}`;
    const location = this.#identity.clientId;
    const endpoint: QueryEndpoint = {
      streamId,
      clientId: this.#identity.clientId,
      local: true,
      deliver(query) {
        (async () => {
          const payload = query.payload.message(registry, schema) as MessageShape<S>;
          return await handler({
            id: query.id,
            payload,
            metadata: query.metadata,
            timestamp: query.timestamp,
          }, {
            signal: query.signal,
          });
        })().then(
          (result) => {
            for (const response of responsesOf(result)) {
              router.respond(streamId, query.id, {
                id: newMessageId(),
                payload: Payload.ofMessage(response),
                metadata: {},
              });
            }
            router.complete(streamId, query.id);
          },
          (error) => {
            router.respond(streamId, query.id, {
              id: newMessageId(),
              metadata: {},
              error: handlingErrorOf(error, AxonErrorCode.QUERY_EXECUTION_ERROR, location),
            });
            router.complete(streamId, query.id);
          },
        );
      },
    };
    router.addEndpoint(endpoint, Infinity);
    router.subscribe(streamId, name, options.component ?? "default");
    return Promise.resolve({
      cancel: () => {
        router.removeEndpoint(streamId);
        return Promise.resolve();
      },
    });
  }

  emitUpdate<Q extends DescMessage>(filter: UpdateFilter<Q>, update: Message): void {
    for (const { sink } of this.#matching(filter)) {
      sink.update({ id: newMessageId(), payload: Payload.ofMessage(update), metadata: {} });
    }
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
