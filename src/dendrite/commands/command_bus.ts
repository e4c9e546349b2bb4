/**
 * The CommandBus port and its in-process adapter.
 *
 * A command has exactly one handler. `dispatch` resolves with the handler's result message (or undefined) and
 * rejects with the handler's error: a `DomainError` with the application's code, or a `DendriteError` with an
 * Axon code (no handler, timeout, lost connection).
 *
 * @module
 */
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import { raceAbort, scopedSignal } from "../core/async.ts";
import { DendriteError, NoHandlerError, TimeoutError } from "../core/errors.ts";
import { type CommandMessage, type Metadata, newMessageId } from "../core/message.ts";

/**
 * Context handed to every handler.
 *
 * @example
 * ```ts
 * import { LocalCommandBus, type HandlerContext } from "../mod.ts";
 * import { RecordCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * await new LocalCommandBus().subscribe(RecordCommandSchema, async (_command, context: HandlerContext) => {
 *   const response = await fetch("https://example.com", { signal: context.signal }); // cancelled with the call
 *   await response.body?.cancel();
 *   return undefined;
 * });
 * ```
 */
export interface HandlerContext {
  /** Aborts when the caller gives up (cancel or timeout) or the bus shuts down. */
  readonly signal: AbortSignal;
}

/**
 * Handles one command type; returns a result message or nothing.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import type { CommandHandler } from "./command_bus.ts";
 * import { type RecordCommand, RecordingStartedEventSchema } from "../../gen/example/v1/domain_pb.ts";
 * const handler: CommandHandler<RecordCommand> = (command) =>
 *   Promise.resolve(create(RecordingStartedEventSchema, { greeterId: command.payload.greeterId }));
 * ```
 */
export type CommandHandler<C extends Message = Message> = (
  command: CommandMessage<C>,
  context: HandlerContext,
) => Promise<Message | undefined>;

/**
 * What `subscribe` returns: cancel to stop receiving.
 *
 * @example
 * ```ts
 * import { LocalCommandBus, type Registration } from "../mod.ts";
 * import { RecordCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const registration: Registration = await new LocalCommandBus().subscribe(
 *   RecordCommandSchema,
 *   () => Promise.resolve(undefined),
 * );
 * await registration.cancel(); // the bus no longer routes RecordCommand here
 * ```
 */
export interface Registration {
  /** Unregisters the handler. */
  cancel(): Promise<void>;
}

/**
 * Options of {@link CommandBus.dispatch}.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { LocalCommandBus } from "./command_bus.ts";
 * import { RecordCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const commandBus = new LocalCommandBus();
 * await commandBus.subscribe(RecordCommandSchema, () => Promise.resolve(undefined));
 * await commandBus.dispatch(create(RecordCommandSchema, { greeterId: "main" }), {
 *   metadata: { correlation_id: "c-1" },
 *   routingKey: "main",
 *   signal: AbortSignal.timeout(5_000),
 * });
 * ```
 */
export interface DispatchOptions<R extends DescMessage = DescMessage> {
  /** Routing key; default the message id. Aggregate commands use the target aggregate id. */
  readonly routingKey?: string;
  /** Metadata sent with the command (e.g. the caller's claims, a correlation id). */
  readonly metadata?: Metadata;
  /** Cancels the dispatch (the handler may still have run). */
  readonly signal?: AbortSignal;
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Expected result schema: the result is checked against it and typed. */
  readonly expect?: R;
  /** The command's message id (default: a fresh UUID). */
  readonly id?: string;
}

/**
 * Options of {@link CommandBus.subscribe}.
 *
 * @example
 * ```ts
 * import { type CommandBus, type CommandSubscribeOptions, LocalCommandBus } from "../mod.ts";
 * import { RecordCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const commandBus: CommandBus = new LocalCommandBus(); // or an AxonCommandBus
 * // This instance takes twice the default share when several subscribe (over Axon).
 * const options: CommandSubscribeOptions = { loadFactor: 200 };
 * await commandBus.subscribe(RecordCommandSchema, () => Promise.resolve(undefined), options);
 * ```
 */
export interface CommandSubscribeOptions {
  /** Relative share of commands this instance takes when several subscribe (Axon load factor, default 100). */
  readonly loadFactor?: number;
}

/**
 * The command bus port.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { type CommandBus, LocalCommandBus } from "./command_bus.ts";
 * import { RecordCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const commandBus: CommandBus = new LocalCommandBus();
 * await commandBus.subscribe(RecordCommandSchema, async (command) => {
 *   console.log("recording for", command.payload.greeterId);
 *   return undefined;
 * });
 * await commandBus.dispatch(create(RecordCommandSchema, { greeterId: "main" }));
 * ```
 */
export interface CommandBus {
  /** Sends a command to its handler and returns the result (decoded with `options.expect` when given). */
  dispatch<R extends DescMessage = DescMessage>(
    command: Message,
    options?: DispatchOptions<R>,
  ): Promise<MessageShape<R> | undefined>;
  /** Registers the handler of a command type. */
  subscribe<S extends DescMessage>(
    schema: S,
    handler: CommandHandler<MessageShape<S>>,
    options?: CommandSubscribeOptions,
  ): Promise<Registration>;
}

/**
 * Default dispatch timeout.
 *
 * @example
 * ```ts
 * import { DEFAULT_COMMAND_TIMEOUT_MS } from "./command_bus.ts";
 * console.log(DEFAULT_COMMAND_TIMEOUT_MS); // 30000
 * ```
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** Checks a result against the expected schema (shared by adapters). */
export function expectResult<R extends DescMessage>(
  result: Message | undefined,
  expect: R | undefined,
): MessageShape<R> | undefined {
  if (result === undefined || expect === undefined) return result as MessageShape<R> | undefined;
  if (result.$typeName !== expect.typeName) {
    throw new DendriteError(
      "AXONIQ-0001",
      `Expected a "${expect.typeName}" result, got "${result.$typeName}"`,
    );
  }
  return result as MessageShape<R>;
}

/**
 * Runs command handlers in this process.
 *
 * @example
 * ```ts
 * import { create } from "@bufbuild/protobuf";
 * import { LocalCommandBus } from "./command_bus.ts";
 * import { StopCommandSchema } from "../../gen/example/v1/domain_pb.ts";
 * const bus = new LocalCommandBus();
 * await bus.subscribe(StopCommandSchema, async () => undefined);
 * await bus.dispatch(create(StopCommandSchema, { greeterId: "main" }));
 * ```
 */
export class LocalCommandBus implements CommandBus {
  readonly #handlers = new Map<string, CommandHandler>();

  /** Runs the command's handler in this process; see {@link CommandBus.dispatch}. */
  async dispatch<R extends DescMessage = DescMessage>(
    command: Message,
    options: DispatchOptions<R> = {},
  ): Promise<MessageShape<R> | undefined> {
    const handler = this.#handlers.get(command.$typeName);
    if (!handler) throw new NoHandlerError("command", command.$typeName);
    const id = options.id ?? newMessageId();
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const scope = scopedSignal([options.signal], timeoutMs);
    const signal = scope.signal;
    signal.throwIfAborted(); // (aborted from the start: the scope holds no timer or listener)
    const message: CommandMessage = {
      id,
      payload: command,
      metadata: options.metadata ?? {},
      timestamp: Date.now(),
      routingKey: options.routingKey ?? id,
    };
    try {
      return expectResult(await raceAbort(handler(message, { signal }), signal), options.expect);
    } catch (error) {
      if (signal.aborted && !options.signal?.aborted && !(error instanceof DendriteError)) {
        throw new TimeoutError(`Command "${command.$typeName}" timed out after ${timeoutMs} ms`);
      }
      throw error;
    } finally {
      scope.done();
    }
  }

  /** Registers the handler in this process; see {@link CommandBus.subscribe}. */
  subscribe<S extends DescMessage>(
    schema: S,
    handler: CommandHandler<MessageShape<S>>,
  ): Promise<Registration> {
    if (this.#handlers.has(schema.typeName)) {
      return Promise.reject(new Error(`A handler for "${schema.typeName}" is already subscribed`));
    }
    this.#handlers.set(schema.typeName, handler as CommandHandler);
    return Promise.resolve({
      cancel: () => {
        if (this.#handlers.get(schema.typeName) === handler) this.#handlers.delete(schema.typeName);
        return Promise.resolve();
      },
    });
  }
}
