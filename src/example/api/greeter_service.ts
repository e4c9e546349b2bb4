/**
 * `example.v1.GreeterService` on connect-es: each RPC becomes a command on the CommandBus or a query on the
 * QueryBus, routed to one greeter (routing key = greeter id) with the caller's correlation id and, for a caller
 * with a verified token, its subject and roles as metadata (never the token itself). Access control is the auth
 * interceptor's job (see `GREETER_POLICY`) and errors are mapped in `errors.ts`, not here.
 *
 * @module
 */
import { create, type DescMessage, isMessage, type Message, type MessageShape } from "@bufbuild/protobuf";
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
import { type GreeterService, type Greeting, GreetingSchema } from "../../gen/example/v1/greeter_pb.ts";

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
  const { commandBus, queryBus, greeterId } = options;
  const dispatchOptions = (context: HandlerContext) => ({
    routingKey: greeterId,
    metadata: idempotencyMetadata(context, callMetadata(context)),
    signal: context.signal,
    timeoutMs: context.timeoutMs(),
  });

  return {
    async greet(request, context) {
      const greeting = await commandBus.dispatch(
        create(domain.GreetCommandSchema, { greeterId, message: request.message }),
        { ...dispatchOptions(context), expect: GreetingSchema },
      );
      return { greetingId: expectType(greeting, GreetingSchema).id };
    },

    async record(_request, context) {
      const state = await commandBus.dispatch(
        create(domain.RecordCommandSchema, { greeterId }),
        { ...dispatchOptions(context), expect: domain.RecordingStateSchema },
      );
      return { recording: expectType(state, domain.RecordingStateSchema).recording };
    },

    async stop(_request, context) {
      const state = await commandBus.dispatch(
        create(domain.StopCommandSchema, { greeterId }),
        { ...dispatchOptions(context), expect: domain.RecordingStateSchema },
      );
      return { recording: expectType(state, domain.RecordingStateSchema).recording };
    },

    async *search(request, context) {
      const list = await queryOne(
        queryBus,
        create(domain.SearchQuerySchema, { query: request.query, limit: request.limit }),
        domain.GreetingListSchema,
        { metadata: callMetadata(context), signal: context.signal, timeoutMs: context.timeoutMs() },
      );
      yield* list.greetings;
    },

    async *greetings(_request, context) {
      const signal = options.shutdown ? AbortSignal.any([context.signal, options.shutdown]) : context.signal;
      const release = options.subscriptions?.acquire(context.values.get(peerAddressKey)) ?? (() => {});
      let subscription;
      try {
        subscription = await queryBus.subscriptionQuery(create(domain.GreetingsQuerySchema), {
          metadata: callMetadata(context),
          signal,
          bufferSize: options.subscriptionBuffer,
          onEnd: release,
        });
      } catch (error) {
        release();
        throw error;
      }
      try {
        // The subscription exists before the initial query runs, so a greeting projected in between can arrive
        // both ways: send it once.
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
      } finally {
        subscription.close();
        release();
      }
    },

    async *watchStatus(_request, context) {
      const signal = options.shutdown ? AbortSignal.any([context.signal, options.shutdown]) : context.signal;
      const subscription = await queryBus.subscriptionQuery(
        create(domain.GreeterStatusQuerySchema, { greeterId }),
        {
          metadata: callMetadata(context),
          signal,
        },
      );
      try {
        // Updates made between the subscription and the initial query may arrive after it: send only newer ones.
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
      } finally {
        subscription.close();
      }
    },

    async getStatus(_request, context) {
      const status = await queryOne(
        queryBus,
        create(domain.GreeterStatusQuerySchema, { greeterId }),
        domain.GreeterStatusSchema,
        { metadata: callMetadata(context), signal: context.signal, timeoutMs: context.timeoutMs() },
      );
      return { recording: status.recording, greetingCount: status.greetingCount };
    },
  };
}
