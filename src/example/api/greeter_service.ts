/**
 * `example.v1.GreeterService` on connect-es: each RPC becomes a command on the CommandBus or a query on the
 * QueryBus, routed to one greeter (routing key = greeter id) with the caller's correlation id and, for a caller
 * with a verified token, its subject and roles as metadata (never the token itself). Access control is the auth
 * interceptor's job (see `GREETER_POLICY`) and errors are mapped in `errors.ts`, not here.
 *
 * @module
 */
import {
  create,
  type DescMessage,
  isMessage,
  type Message,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type CommandBus,
  DendriteError,
  DomainError,
  IDEMPOTENCY_KEY,
  type Metadata,
  MetadataKeys,
  type QueryBus,
  queryOne,
  type SubscriptionLimiter,
} from "../../dendrite/mod.ts";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { claimsKey, metadataFromClaims, peerAddressKey } from "../../dendrite/security/mod.ts";
import type {
  GetStatusRequest,
  GetStatusResponseSchema,
  GreeterService,
  GreetingsRequest,
  GreetRequest,
  GreetResponseSchema,
  RecordRequest,
  RecordResponseSchema,
  SearchRequest,
  StopRequest,
  StopResponseSchema,
  WatchStatusRequest,
} from "../../gen/example/v1/greeter_pb.ts";
import { type Greeting, GreetingSchema } from "../../gen/example/v1/greeter_pb.ts";

/** Request header carrying a caller-chosen correlation id (echoed in the response headers). */
export const CORRELATION_HEADER = "x-correlation-id";

const CORRELATION_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Request header carrying a caller-chosen idempotency key for a command (docs/api.md). */
export const IDEMPOTENCY_HEADER = "idempotency-key";

const IDEMPOTENCY_VALUE = /^[\x21-\x7e]{1,128}$/;

/** The command metadata for the caller's idempotency key, scoped to its subject; none without the header. */
function idempotencyMetadata(context: HandlerContext, metadata: Metadata): Metadata {
  const key = context.requestHeader.get(IDEMPOTENCY_HEADER);
  if (key === null) return metadata;
  if (!IDEMPOTENCY_VALUE.test(key)) {
    throw new DomainError(
      "INVALID_IDEMPOTENCY_KEY",
      "The idempotency-key header must be 1 to 128 visible ASCII characters",
      {
        kind: "invalid-argument",
      },
    );
  }
  return { ...metadata, [IDEMPOTENCY_KEY]: `${metadata[MetadataKeys.subject] ?? ""}:${key}` };
}

/** What the service needs. */
export interface GreeterApiOptions {
  readonly commandBus: CommandBus;
  readonly queryBus: QueryBus;
  /** The greeter every call goes to. */
  readonly greeterId: string;
  /** Aborts when the server shuts down: live streams then end. */
  readonly shutdown?: AbortSignal;
  /** Bounds live Greetings streams, in all and per client address (none when absent). */
  readonly subscriptions?: SubscriptionLimiter;
  /** Updates a Greetings stream may fall behind before it is dropped (default: the bus's). */
  readonly subscriptionBuffer?: number;
}

/**
 * The metadata of a call's command or query: the correlation id (the caller's `x-correlation-id` when it is
 * well-formed, else a fresh UUID, echoed in the response headers), plus `subject` and `roles` from the claims
 * the auth interceptor verified (none for an anonymous caller). The token is never copied.
 */
function callMetadata(context: HandlerContext): Metadata {
  const given = context.requestHeader.get(CORRELATION_HEADER);
  const id = given !== null && CORRELATION_ID.test(given) ? given : crypto.randomUUID();
  context.responseHeader.set(CORRELATION_HEADER, id);
  return metadataFromClaims(context.values.get(claimsKey), { [MetadataKeys.correlationId]: id });
}

function expectType<S extends DescMessage>(message: Message | undefined, schema: S): MessageShape<S> {
  if (!isMessage(message, schema)) {
    throw new DendriteError(
      "AXONIQ-0001",
      `Expected a "${schema.typeName}" result, got "${message?.$typeName}"`,
    );
  }
  return message;
}

/** Ends quietly when `signal` aborts (client gone or server shutting down); other errors propagate. */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  try {
    yield* source;
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/**
 * Implements the greeter API on the buses.
 *
 * @example
 * ```ts ignore
 * router.service(GreeterService, greeterService({ commandBus, queryBus, greeterId: "main" }));
 * ```
 */
export function greeterService(options: GreeterApiOptions): ServiceImpl<typeof GreeterService> {
  return new GreeterApi(options);
}

type Init<S extends DescMessage> = MessageInitShape<S>;

/** The greeter API of one router: each RPC a method (connect-es binds them to the instance). */
class GreeterApi implements ServiceImpl<typeof GreeterService> {
  readonly #options: GreeterApiOptions;

  constructor(options: GreeterApiOptions) {
    this.#options = options;
  }

  async greet(request: GreetRequest, context: HandlerContext): Promise<Init<typeof GreetResponseSchema>> {
    const { greeterId } = this.#options;
    const greeting = await this.#options.commandBus.dispatch(
      create(domain.GreetCommandSchema, { greeterId, message: request.message }),
      { ...this.#dispatchOptions(context), expect: GreetingSchema },
    );
    return { greetingId: expectType(greeting, GreetingSchema).id };
  }

  async record(_request: RecordRequest, context: HandlerContext): Promise<Init<typeof RecordResponseSchema>> {
    return {
      recording: await this.#setRecording(create(domain.RecordCommandSchema, this.#greeter()), context),
    };
  }

  async stop(_request: StopRequest, context: HandlerContext): Promise<Init<typeof StopResponseSchema>> {
    return {
      recording: await this.#setRecording(create(domain.StopCommandSchema, this.#greeter()), context),
    };
  }

  async *search(request: SearchRequest, context: HandlerContext): AsyncIterable<Init<typeof GreetingSchema>> {
    const list = await queryOne(
      this.#options.queryBus,
      create(domain.SearchQuerySchema, { query: request.query, limit: request.limit }),
      domain.GreetingListSchema,
      { metadata: callMetadata(context), signal: context.signal, timeoutMs: context.timeoutMs() },
    );
    yield* list.greetings;
  }

  async *greetings(
    _request: GreetingsRequest,
    context: HandlerContext,
  ): AsyncIterable<Init<typeof GreetingSchema>> {
    const signal = this.#callSignal(context);
    const release = this.#options.subscriptions?.acquire(context.values.get(peerAddressKey)) ?? (() => {});
    let subscription;
    try {
      subscription = await this.#options.queryBus.subscriptionQuery(create(domain.GreetingsQuerySchema), {
        metadata: callMetadata(context),
        signal,
        bufferSize: this.#options.subscriptionBuffer,
        onEnd: release,
      });
    } catch (error) {
      release();
      throw error;
    }
    try {
      yield* liveGreetings(subscription, signal);
    } finally {
      subscription.close();
      release();
    }
  }

  async *watchStatus(
    _request: WatchStatusRequest,
    context: HandlerContext,
  ): AsyncIterable<Init<typeof GetStatusResponseSchema>> {
    const signal = this.#callSignal(context);
    const subscription = await this.#options.queryBus.subscriptionQuery(
      create(domain.GreeterStatusQuerySchema, this.#greeter()),
      { metadata: callMetadata(context), signal },
    );
    try {
      yield* liveStatus(subscription, signal);
    } finally {
      subscription.close();
    }
  }

  async getStatus(
    _request: GetStatusRequest,
    context: HandlerContext,
  ): Promise<Init<typeof GetStatusResponseSchema>> {
    const status = await queryOne(
      this.#options.queryBus,
      create(domain.GreeterStatusQuerySchema, this.#greeter()),
      domain.GreeterStatusSchema,
      { metadata: callMetadata(context), signal: context.signal, timeoutMs: context.timeoutMs() },
    );
    return { recording: status.recording, greetingCount: status.greetingCount };
  }

  #greeter(): { greeterId: string } {
    return { greeterId: this.#options.greeterId };
  }

  /** Record or Stop: the greeter's recording state after the command. */
  async #setRecording(command: Message, context: HandlerContext): Promise<boolean> {
    const state = await this.#options.commandBus.dispatch(
      command,
      { ...this.#dispatchOptions(context), expect: domain.RecordingStateSchema },
    );
    return expectType(state, domain.RecordingStateSchema).recording;
  }

  #dispatchOptions(context: HandlerContext) {
    return {
      routingKey: this.#options.greeterId,
      metadata: idempotencyMetadata(context, callMetadata(context)),
      signal: context.signal,
      timeoutMs: context.timeoutMs(),
    };
  }

  /** A live stream ends when its caller goes or the server shuts down. */
  #callSignal(context: HandlerContext): AbortSignal {
    const shutdown = this.#options.shutdown;
    return shutdown ? AbortSignal.any([context.signal, shutdown]) : context.signal;
  }
}

/** A subscription's initial results and its updates. */
interface Live {
  readonly initial: readonly Message[];
  readonly updates: AsyncIterable<Message>;
}

/**
 * The greetings now, then each new one. The subscription exists before the initial query runs, so a greeting
 * projected in between can arrive both ways: send it once.
 */
async function* liveGreetings(subscription: Live, signal: AbortSignal): AsyncIterable<Greeting> {
  const sent = new Set<string>();
  for (const list of subscription.initial) {
    for (const greeting of expectType(list, domain.GreetingListSchema).greetings) {
      sent.add(greeting.id);
      yield greeting;
    }
  }
  for await (const update of untilAborted(subscription.updates, signal)) {
    const greeting: Greeting = expectType(update, GreetingSchema);
    if (sent.delete(greeting.id)) continue;
    yield greeting;
  }
}

/**
 * The status now, then each change. Updates made between the subscription and the initial query may arrive after
 * it: send only newer ones.
 */
async function* liveStatus(
  subscription: Live,
  signal: AbortSignal,
): AsyncIterable<Init<typeof GetStatusResponseSchema>> {
  let sequence = -2n;
  for (const status of subscription.initial) {
    const initial = expectType(status, domain.GreeterStatusSchema);
    sequence = initial.sequence;
    yield { recording: initial.recording, greetingCount: initial.greetingCount };
  }
  for await (const update of untilAborted(subscription.updates, signal)) {
    const status = expectType(update, domain.GreeterStatusSchema);
    if (status.sequence <= sequence) continue;
    sequence = status.sequence;
    yield { recording: status.recording, greetingCount: status.greetingCount };
  }
}
