/**
 * One `Subscription` call of soma's QueryService: the caller's subscription queries on one stream, their updates
 * sent only under the caller's permits (`flow_control`), waiting in a bounded buffer meanwhile.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import {
  AxonErrorCode,
  type MessageRegistry,
  type SubscriptionLimiter,
  SubscriptionLimitError,
} from "../dendrite/mod.ts";
import {
  QueryUpdateCompleteExceptionallySchema,
  QueryUpdateCompleteSchema,
  type SubscriptionQuery,
  type SubscriptionQueryRequest,
  type SubscriptionQueryResponse,
  SubscriptionQueryResponseSchema,
} from "../gen/axon/query_pb.ts";
import type { HandlingError } from "./commands.ts";
import { axonError } from "./grpc_errors.ts";
import type { QueryRouter } from "./queries.ts";
import { errorResult, type QueryResult, type SubscriptionSink } from "./query_types.ts";
import { fromWireQuery, toWireResponse, toWireUpdate, wireError } from "./query_wire.ts";

/** What a {@link SubscriptionCall} needs of soma's QueryService options. */
export interface SubscriptionCallOptions {
  readonly router: QueryRouter;
  readonly registry: MessageRegistry;
  readonly nodeName: string;
  /** Timeout of a query without a TIMEOUT instruction (default 30 000 ms). */
  readonly queryTimeoutMs?: number;
  /** Updates that may wait for caller permits before the subscription fails (default 10 000). */
  readonly subscriptionBuffer?: number;
  /** Bounds live subscription queries per client id and in all (beyond: completed exceptionally, AXONIQ-1900). */
  readonly subscriptions?: SubscriptionLimiter;
}

/**
 * The subscription queries of one call.
 *
 * @example
 * ```ts ignore
 * subscription: (call) => new SubscriptionCall(call, options).serve(),
 * ```
 */
export class SubscriptionCall {
  readonly #call: ServerDuplexStream<SubscriptionQueryRequest, SubscriptionQueryResponse>;
  readonly #options: SubscriptionCallOptions;
  readonly #router: QueryRouter;
  readonly #registry: MessageRegistry;
  readonly #bufferLimit: number;
  readonly #defaultTimeout: number;
  readonly #waiting: SubscriptionQueryResponse[] = [];
  /** This stream's live subscriptions, with the release of their limiter lease. */
  readonly #mine = new Map<string, () => void>();
  readonly #controller = new AbortController();
  #permits = 0;
  #ended = false;

  constructor(
    call: ServerDuplexStream<SubscriptionQueryRequest, SubscriptionQueryResponse>,
    options: SubscriptionCallOptions,
  ) {
    this.#call = call;
    this.#options = options;
    this.#router = options.router;
    this.#registry = options.registry;
    this.#bufferLimit = options.subscriptionBuffer ?? 10_000;
    this.#defaultTimeout = options.queryTimeoutMs ?? 30_000;
  }

  /** Starts taking the call's requests. */
  serve(): void {
    this.#call.on("data", (message: SubscriptionQueryRequest) => this.#receive(message));
    for (const event of ["end", "cancelled", "error"] as const) this.#call.on(event, () => this.#end());
  }

  #receive(message: SubscriptionQueryRequest): void {
    const request = message.request;
    switch (request.case) {
      case "subscribe":
        this.#open(request.value);
        break;
      case "unsubscribe": {
        const id = request.value.subscriptionIdentifier;
        if (this.#forget(id)) this.#router.closeSubscription(id);
        break;
      }
      case "getInitialResult":
        this.#initialResult(request.value).catch(() => {/* stream ended meanwhile */});
        break;
      case "flowControl":
        this.#permits += Number(request.value.numberOfPermits);
        this.#flush();
        break;
      default:
        break;
    }
  }

  #forget(id: string): boolean {
    const release = this.#mine.get(id);
    this.#mine.delete(id);
    release?.();
    return release !== undefined;
  }

  #flush(): void {
    while (this.#permits > 0 && this.#waiting.length > 0 && !this.#ended) {
      this.#permits--;
      this.#call.write(this.#waiting.shift()!);
    }
  }

  #send(subscriptionId: string, response: SubscriptionQueryResponse["response"]): void {
    if (this.#ended) return;
    this.#waiting.push(create(SubscriptionQueryResponseSchema, {
      messageIdentifier: crypto.randomUUID(),
      subscriptionIdentifier: subscriptionId,
      response,
    }));
    if (this.#waiting.length > this.#bufferLimit) {
      this.#end(
        axonError(AxonErrorCode.TOO_MANY_REQUESTS, `More than ${this.#bufferLimit} updates wait for permits`),
      );
      return;
    }
    this.#flush();
  }

  #end(error?: ReturnType<typeof axonError>): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.abort(new DOMException("Subscription stream ended", "AbortError"));
    for (const id of [...this.#mine.keys()]) {
      this.#forget(id);
      this.#router.closeSubscription(id);
    }
    if (error) this.#call.emit("error", error);
    else this.#call.end();
  }

  /** The sink the router feeds subscription `id` through. */
  #sink(id: string): SubscriptionSink {
    const closed = () => {
      this.#forget(id);
      this.#router.closeSubscription(id);
    };
    return {
      update: (update) => this.#send(id, { case: "update", value: toWireUpdate(update, this.#registry) }),
      complete: () => {
        closed();
        this.#send(id, { case: "complete", value: create(QueryUpdateCompleteSchema) });
      },
      completeExceptionally: (error: HandlingError) => {
        closed();
        this.#send(id, {
          case: "completeExceptionally",
          value: create(QueryUpdateCompleteExceptionallySchema, {
            errorCode: error.code,
            errorMessage: wireError(error),
          }),
        });
      },
    };
  }

  #open(request: SubscriptionQuery): void {
    const wire = request.queryRequest;
    if (!wire) return;
    const id = request.subscriptionIdentifier || wire.messageIdentifier || crypto.randomUUID();
    const { deadline: _deadline, priority: _priority, streaming: _streaming, ...query } = fromWireQuery(
      wire,
      this.#defaultTimeout,
    );
    const sink = this.#sink(id);
    const refuse = (code: string, message: string) =>
      sink.completeExceptionally({ code, message, details: [], location: this.#options.nodeName });
    let release = () => {};
    try {
      release = this.#options.subscriptions?.acquire(query.clientId) ?? release;
    } catch (error) {
      if (!(error instanceof SubscriptionLimitError)) throw error;
      return refuse(error.code, error.message);
    }
    if (this.#router.openSubscription({ id, query: { ...query, id } }, sink)) this.#mine.set(id, release);
    else {
      release();
      refuse(AxonErrorCode.QUERY_DUPLICATED, `Subscription "${id}" already exists`);
    }
  }

  async #initialResult(request: SubscriptionQuery): Promise<void> {
    const wire = request.queryRequest;
    if (!wire) return;
    const id = request.subscriptionIdentifier || wire.messageIdentifier;
    const routed = fromWireQuery({ ...wire, messageIdentifier: crypto.randomUUID() }, this.#defaultTimeout);
    let first: QueryResult | undefined;
    for await (const result of this.#router.query(routed, this.#controller.signal)) {
      if (!first || (first.error && !result.error)) first = result;
      if (!result.error) break;
    }
    first ??= errorResult(AxonErrorCode.NO_HANDLER_FOR_QUERY, `No handler for query: ${routed.name}`);
    this.#send(id, {
      case: "initialResult",
      value: toWireResponse(wire.messageIdentifier, first, this.#registry),
    });
  }
}
