/**
 * The CommandBus port on Axon Server: `Dispatch` for sending (routing key = target aggregate id, timeout and
 * cancellation by `AbortSignal`), and one `OpenStream` per connection for handling (subscriptions with a load
 * factor, permits granted up front and refilled in batches, responses matched by request id). After a reconnect
 * every subscription is made again.
 *
 * @module
 */
import { create, type DescMessage, type Message, type MessageShape } from "@bufbuild/protobuf";
import { ProcessingKey } from "../../gen/axon/common_pb.ts";
import {
  type Command,
  type CommandProviderInbound,
  type CommandProviderOutbound,
  CommandProviderOutboundSchema,
  CommandResponseSchema,
  CommandSchema,
  CommandService,
  CommandSubscriptionSchema,
} from "../../gen/axon/command_pb.ts";
import * as grpc from "@grpc/grpc-js";
import { delay, scopedSignal } from "../core/async.ts";
import { DendriteError, TimeoutError } from "../core/errors.ts";
import { type CommandMessage, newMessageId } from "../core/message.ts";
import type { MessageRegistry } from "../core/registry.ts";
import {
  type CommandBus,
  type CommandHandler,
  type CommandSubscribeOptions,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type DispatchOptions,
  expectResult,
  type Registration,
} from "../commands/command_bus.ts";
import type { AxonConnection } from "./connection.ts";
import { Acks, awaitAck } from "./acks.ts";
import { type BidiStream, GrpcError, type Rpc } from "./rpc.ts";
import { fromErrorMessage, toErrorMessage } from "./protocol/errors.ts";
import { fromMetaData, fromSerializedObject, toMetaData, toSerializedObject } from "./protocol/messages.ts";
import { numberInstruction, routingKeyOf, textInstruction } from "./protocol/instructions.ts";
import { ProviderStream } from "./provider_stream.ts";

interface Subscription {
  readonly name: string;
  readonly handler: CommandHandler;
  readonly loadFactor: number;
}

export interface AxonCommandBusOptions {
  /** Permits granted to the server up front (default 1,000); refilled by a quarter as commands complete. */
  readonly permits?: number;
}

/**
 * Commands through Axon Server.
 *
 * @example
 * ```ts
 * import { AxonCommandBus } from "./command_bus.ts";
 * import { AxonEventStore } from "./event_store.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * import { registerAggregate } from "../commands/repository.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 * import { AxonConnection } from "./connection.ts";
 * const connection = await AxonConnection.connect({ address: "localhost:8124", componentName: "greeter" });
 * const registry = new MessageRegistry(Greeter.events);
 * const commandBus = new AxonCommandBus(connection, registry);
 * await registerAggregate(commandBus, Greeter, { eventStore: new AxonEventStore(connection), registry });
 * ```
 */
export class AxonCommandBus implements CommandBus {
  readonly #connection: AxonConnection;
  readonly #registry: MessageRegistry;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #permits: number;
  #stream: BidiStream<CommandProviderOutbound, CommandProviderInbound> | undefined;
  #stopListening: (() => void) | undefined;
  readonly #inFlight = new Map<AbortController, Promise<void>>();
  readonly #acks = new Acks();
  readonly #pendingSubscribe = new WeakMap<Subscription, Promise<void>>();

  /** Command handling and dispatching over `connection`; payloads are (de)serialized with `registry`. */
  constructor(connection: AxonConnection, registry: MessageRegistry, options: AxonCommandBusOptions = {}) {
    this.#connection = connection;
    this.#registry = registry;
    this.#permits = Math.max(16, options.permits ?? 1_000);
  }

  /** Sends the command to a handler through the server (routed by its aggregate id) and returns the decoded result. */
  async dispatch<R extends DescMessage = DescMessage>(
    command: Message,
    options: DispatchOptions<R> = {},
  ): Promise<MessageShape<R> | undefined> {
    const id = options.id ?? newMessageId();
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const request: Command = create(CommandSchema, {
      messageIdentifier: id,
      name: command.$typeName,
      timestamp: BigInt(Date.now()),
      payload: toSerializedObject(this.#registry.encode(command)),
      metaData: toMetaData(options.metadata ?? {}),
      processingInstructions: [
        textInstruction(ProcessingKey.ROUTING_KEY, options.routingKey ?? id),
        numberInstruction(ProcessingKey.PRIORITY, 0),
      ],
      clientId: this.#connection.clientId,
      componentName: this.#connection.options.componentName,
    });
    let response;
    try {
      response = await this.#connection.rpc().unary(CommandService.method.dispatch, request, {
        signal: options.signal,
        timeoutMs,
      });
    } catch (error) {
      if (error instanceof GrpcError && error.status === grpc.status.DEADLINE_EXCEEDED) {
        throw new TimeoutError(`Command "${command.$typeName}" timed out after ${timeoutMs} ms`);
      }
      throw error;
    }
    if (response.errorCode !== "" || response.errorMessage) {
      throw fromErrorMessage(response.errorCode, response.errorMessage, command.$typeName, response.payload);
    }
    const payload = fromSerializedObject(response.payload);
    return expectResult(payload ? this.#registry.decode(payload) : undefined, options.expect);
  }

  /** Registers `handler` for commands of `schema` with the server; the registration resolves once the server routes to it. */
  subscribe<S extends DescMessage>(
    schema: S,
    handler: CommandHandler<MessageShape<S>>,
    options: CommandSubscribeOptions = {},
  ): Promise<Registration> {
    if (this.#subscriptions.has(schema.typeName)) {
      return Promise.reject(new Error(`A handler for "${schema.typeName}" is already subscribed`));
    }
    this.#registry.add(schema);
    const subscription: Subscription = {
      name: schema.typeName,
      handler: handler as CommandHandler,
      loadFactor: options.loadFactor ?? 100,
    };
    this.#subscriptions.set(schema.typeName, subscription);
    let acked: Promise<void> | undefined;
    if (!this.#stopListening) {
      this.#stopListening = this.#connection.onConnect((rpc, signal) => this.#open(rpc, signal));
      acked = this.#pendingSubscribe.get(subscription);
    } else {
      acked = this.#sendSubscribe(subscription);
    }
    const registration: Registration = {
      cancel: async () => {
        if (this.#subscriptions.get(schema.typeName) !== subscription) return;
        this.#subscriptions.delete(schema.typeName);
        await awaitAck(this.#send("unsubscribe", subscription));
      },
    };
    return awaitAck(acked).then(() => registration);
  }

  /** Stops handling: unsubscribes everything, lets running handlers finish (up to `graceMs`), closes the stream. */
  async close(graceMs = 5_000): Promise<void> {
    this.#stopListening?.();
    this.#stopListening = undefined;
    await Promise.all(
      [...this.#subscriptions.values()].map((s) => awaitAck(this.#send("unsubscribe", s), 2_000)),
    );
    this.#subscriptions.clear();
    const grace = new AbortController();
    await Promise.race([
      Promise.allSettled(this.#inFlight.values()),
      delay(graceMs, grace.signal).catch(() => {}),
    ]);
    grace.abort();
    for (const controller of this.#inFlight.keys()) controller.abort(new Error("Command bus closed"));
    this.#stream?.end();
    this.#stream = undefined;
  }

  #subscription(subscription: Subscription) {
    return create(CommandSubscriptionSchema, {
      messageId: newMessageId(),
      command: subscription.name,
      componentName: this.#connection.options.componentName,
      clientId: this.#connection.clientId,
      loadFactor: subscription.loadFactor,
    });
  }

  /** Sends a (un)subscribe on the current stream; the promise settles with the server's ack. */
  #send(action: "subscribe" | "unsubscribe", subscription: Subscription): Promise<void> | undefined {
    if (!this.#stream) return undefined;
    const { id, acked } = this.#acks.expect();
    const value = create(CommandSubscriptionSchema, { ...this.#subscription(subscription), messageId: id });
    this.#stream.send(
      create(CommandProviderOutboundSchema, { instructionId: id, request: { case: action, value } }),
    );
    return acked;
  }

  #sendSubscribe(subscription: Subscription): Promise<void> | undefined {
    const acked = this.#send("subscribe", subscription);
    if (acked) this.#pendingSubscribe.set(subscription, acked);
    return acked;
  }

  async #open(rpc: Rpc, signal: AbortSignal): Promise<void> {
    if (this.#subscriptions.size === 0) return;
    const stream = rpc.bidi(CommandService.method.openStream, { signal });
    this.#stream = stream;
    for (const subscription of this.#subscriptions.values()) this.#sendSubscribe(subscription);
    try {
      await new ProviderStream(stream, {
        kind: "command",
        clientId: this.#connection.clientId,
        permits: this.#permits,
        acks: this.#acks,
        outbound: (request) => create(CommandProviderOutboundSchema, { request }),
        receive: (inbound) => {
          if (inbound.request.case !== "command") return undefined;
          const controller = new AbortController();
          const running = this.#handle(stream, inbound.request.value, controller, signal).finally(() =>
            this.#inFlight.delete(controller)
          );
          this.#inFlight.set(controller, running);
          return running;
        },
      }).run(signal, () => this.#stopListening !== undefined);
    } finally {
      if (this.#stream === stream) this.#stream = undefined;
    }
  }

  async #handle(
    stream: BidiStream<CommandProviderOutbound, CommandProviderInbound>,
    command: Command,
    controller: AbortController,
    connectionSignal: AbortSignal,
  ): Promise<void> {
    const respond = (fields: Parameters<typeof create<typeof CommandResponseSchema>>[1]) =>
      stream.send(create(CommandProviderOutboundSchema, {
        request: {
          case: "commandResponse",
          value: create(CommandResponseSchema, {
            messageIdentifier: newMessageId(),
            requestIdentifier: command.messageIdentifier,
            ...fields,
          }),
        },
      }));
    try {
      const subscription = this.#subscriptions.get(command.name);
      if (!subscription) throw new DendriteError("AXONIQ-4000", `No handler for command "${command.name}"`);
      const payload = fromSerializedObject(command.payload);
      if (!payload) throw new DendriteError("AXONIQ-4003", `Command "${command.name}" has no payload`);
      const message: CommandMessage = {
        id: command.messageIdentifier,
        payload: this.#registry.decode(payload),
        metadata: fromMetaData(command.metaData),
        timestamp: Number(command.timestamp),
        routingKey: routingKeyOf(command.processingInstructions) ?? command.messageIdentifier,
      };
      const scope = scopedSignal([controller.signal, connectionSignal]);
      let result;
      try {
        result = await subscription.handler(message, { signal: scope.signal });
      } finally {
        scope.done(); // also when the handler throws before returning its promise
      }
      respond({ payload: result ? toSerializedObject(this.#registry.encode(result)) : undefined });
    } catch (error) {
      const { code, message, details } = toErrorMessage(error, this.#connection.clientId, "command");
      respond({ errorCode: code, errorMessage: message, payload: details });
    }
  }
}
