/**
 * soma's CommandService over the {@link CommandRouter}: handler streams (`OpenStream`) become router endpoints,
 * `Dispatch` routes a wire command and answers with the outcome as a `CommandResponse`.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { AxonErrorCode, type MessageRegistry } from "../dendrite/mod.ts";
import type { GrpcServiceImplementation } from "../dendrite/axon/protocol/grpc.ts";
import {
  type Command,
  type CommandProviderInbound,
  CommandProviderInboundSchema,
  type CommandProviderOutbound,
  type CommandResponse,
  CommandResponseSchema,
  CommandSchema,
  type CommandService,
} from "../gen/axon/command_pb.ts";
import { ErrorMessageSchema, ProcessingKey, type SerializedObject } from "../gen/axon/common_pb.ts";
import {
  instructionAck,
  numberInstruction,
  numericInstruction,
  routingKeyOf,
  textInstruction,
} from "../dendrite/axon/protocol/instructions.ts";
import {
  EMPTY_PAYLOAD,
  fromMetaData,
  fromSerializedObject,
  toMetaData,
  toSerializedObject,
} from "../dendrite/axon/protocol/messages.ts";
import { Payload } from "./payload.ts";
import { HandlerStream, type TrackStream } from "./handler_stream.ts";
import {
  type CommandEndpoint,
  type CommandOutcome,
  type CommandRouter,
  failure,
  type HandlingError,
  type RoutedCommand,
} from "./commands.ts";

/** Options of {@link commandService}. */
export interface CommandServiceOptions {
  readonly router: CommandRouter;
  readonly registry: MessageRegistry;
  /** Timeout of a dispatched command (default 300 000 ms, as Axon Server). */
  readonly commandTimeoutMs?: number;
  /** Node name used as error location. */
  readonly nodeName: string;
  /** Registers the handler stream so soma can close it (shutdown, client dropped); returns an unregister. */
  readonly track: TrackStream;
}

/** A routed command as a wire `Command` (the original when it came over gRPC). */
export function toWireCommand(command: RoutedCommand, registry: MessageRegistry): Command {
  if (command.wire) return command.wire;
  return create(CommandSchema, {
    messageIdentifier: command.id,
    name: command.name,
    timestamp: BigInt(command.timestamp),
    payload: toSerializedObject(command.payload.serialized(registry)),
    metaData: toMetaData(command.metadata),
    processingInstructions: [
      textInstruction(ProcessingKey.ROUTING_KEY, command.routingKey),
      numberInstruction(ProcessingKey.PRIORITY, command.priority),
    ],
    clientId: command.clientId,
    componentName: command.component,
  });
}

/** The exception details of an error response (its `payload`), when there are any. */
export function errorPayload(payload: CommandResponse["payload"]): Payload | undefined {
  const serialized = fromSerializedObject(payload) ?? EMPTY_PAYLOAD;
  return serialized.type === "empty" || serialized.type === "" ? undefined : Payload.ofSerialized(serialized);
}

/** A wire response → an outcome. */
export function fromWireResponse(response: CommandResponse): CommandOutcome {
  if (response.errorCode !== "" || response.errorMessage !== undefined) {
    return {
      ok: false,
      id: response.messageIdentifier,
      error: {
        code: response.errorCode === "" ? AxonErrorCode.COMMAND_EXECUTION_ERROR : response.errorCode,
        message: response.errorMessage?.message ?? "",
        details: response.errorMessage?.details ?? [],
        location: response.errorMessage?.location ?? "",
        errorCode: response.errorMessage?.errorCode || undefined,
        payload: errorPayload(response.payload),
      },
    };
  }
  const payload = fromSerializedObject(response.payload) ?? EMPTY_PAYLOAD;
  return {
    ok: true,
    id: response.messageIdentifier,
    payload: payload.type === "empty" || payload.type === "" ? undefined : Payload.ofSerialized(payload),
    metadata: fromMetaData(response.metaData),
  };
}

/** A handling error's details on the wire (they arrive serialized, so this does not encode). */
export function errorDetailsOf(
  error: HandlingError,
  registry: MessageRegistry,
): SerializedObject | undefined {
  return error.payload ? toSerializedObject(error.payload.serialized(registry)) : undefined;
}

/** An outcome → a wire response to the command `requestId`. */
export function toWireResponse(
  requestId: string,
  outcome: CommandOutcome,
  registry: MessageRegistry,
): CommandResponse {
  if (!outcome.ok) {
    return create(CommandResponseSchema, {
      requestIdentifier: requestId,
      messageIdentifier: outcome.id,
      errorCode: outcome.error.code,
      errorMessage: create(ErrorMessageSchema, {
        message: outcome.error.message,
        details: [...outcome.error.details],
        location: outcome.error.location,
        errorCode: outcome.error.errorCode ?? outcome.error.code,
      }),
      payload: errorDetailsOf(outcome.error, registry),
    });
  }
  try {
    return create(CommandResponseSchema, {
      requestIdentifier: requestId,
      messageIdentifier: outcome.id,
      payload: outcome.payload ? toSerializedObject(outcome.payload.serialized(registry)) : undefined,
      metaData: toMetaData(outcome.metadata),
    });
  } catch (error) {
    return toWireResponse(
      requestId,
      failure(outcome.id, AxonErrorCode.COMMAND_EXECUTION_ERROR, `The result cannot be serialized: ${error}`),
      registry,
    );
  }
}

/** One command handler stream (`OpenStream`): subscriptions, permits and responses of one handler connection. */
class CommandHandlerStream
  extends HandlerStream<CommandProviderOutbound, CommandProviderInbound, CommandEndpoint, CommandRouter> {
  readonly #registry: MessageRegistry;
  #component = "";

  constructor(
    call: ServerDuplexStream<CommandProviderOutbound, CommandProviderInbound>,
    router: CommandRouter,
    options: CommandServiceOptions,
  ) {
    super(call, router, options);
    this.#registry = options.registry;
  }

  protected override handle(message: CommandProviderOutbound): boolean | undefined {
    const request = message.request;
    const router = this.router;
    switch (request.case) {
      case "subscribe":
        this.identify(request.value.clientId);
        this.#component ||= request.value.componentName;
        router.subscribe(this.endpoint(), request.value.command, request.value.loadFactor);
        return true;
      case "unsubscribe":
        if (this.streamId !== "") router.unsubscribe(this.streamId, request.value.command);
        return true;
      case "flowControl":
        this.grant(request.value.clientId, request.value.permits);
        return true;
      case "commandResponse":
        if (this.streamId !== "") {
          router.respond(this.streamId, request.value.requestIdentifier, fromWireResponse(request.value));
        }
        return true;
      case "ack":
        return undefined;
      default:
        return false;
    }
  }

  protected override sendAck(instructionId: string, supported: boolean, nodeName: string): void {
    this.#send({ case: "ack", value: instructionAck(instructionId, supported, nodeName) });
  }

  protected override endpointOf(streamId: string): CommandEndpoint {
    const clientId = () => this.clientId;
    const component = () => this.#component;
    return {
      streamId,
      get clientId() {
        return clientId();
      },
      get component() {
        return component();
      },
      local: false,
      deliver: (command) => this.#send({ case: "command", value: toWireCommand(command, this.#registry) }),
    };
  }

  #send(request: CommandProviderInbound["request"]): void {
    this.write(create(CommandProviderInboundSchema, { request }));
  }
}

/** Builds the gRPC implementation. */
export function commandService(
  options: CommandServiceOptions,
): GrpcServiceImplementation<typeof CommandService.method> {
  const { router, registry } = options;
  const timeoutMs = options.commandTimeoutMs ?? 300_000;

  return {
    openStream: (call) => new CommandHandlerStream(call, router, options).serve(),
    dispatch: (call, callback) => {
      const wire = call.request;
      const id = wire.messageIdentifier === "" ? crypto.randomUUID() : wire.messageIdentifier;
      const controller = new AbortController();
      // grpc-js also reports "cancelled" once an answered call's stream closes: only an unanswered one is a cancel.
      let answered = false;
      call.on("cancelled", () => {
        if (!answered) controller.abort(new DOMException("Dispatch cancelled", "AbortError"));
      });
      const command: Omit<RoutedCommand, "signal"> = {
        id,
        name: wire.name,
        routingKey: routingKeyOf(wire.processingInstructions) ?? id,
        priority: numericInstruction(wire.processingInstructions, ProcessingKey.PRIORITY) ?? 0,
        timestamp: Number(wire.timestamp),
        payload: Payload.ofSerialized(fromSerializedObject(wire.payload) ?? EMPTY_PAYLOAD),
        metadata: fromMetaData(wire.metaData),
        wire: wire.messageIdentifier === "" ? { ...wire, messageIdentifier: id } : wire,
        clientId: wire.clientId,
        component: wire.componentName,
      };
      router.dispatch(command, { timeoutMs, signal: controller.signal }).then(
        (outcome) => {
          answered = true;
          callback(null, toWireResponse(id, outcome, registry));
        },
        () => {/* the caller cancelled: nothing to answer */},
      );
    },
  };
}
