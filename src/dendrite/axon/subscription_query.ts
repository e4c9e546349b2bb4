/**
 * The caller's side of one subscription query on Axon Server (`QueryService.Subscription`): grant the initial
 * permits once, subscribe, then ask for the initial result on the same stream (so the handler side has the
 * subscription before it answers, and no update falls between the two), then grant more permits only as the
 * consumer takes updates. Updates never outrun the consumer by more than the buffer, so a slow consumer holds the
 * server back instead of overflowing.
 *
 * @module
 */
import { create, type Message } from "@bufbuild/protobuf";
import {
  type QueryRequest,
  type QueryResponse,
  QueryService,
  type SubscriptionQueryRequest,
  SubscriptionQueryRequestSchema,
  type SubscriptionQueryResponse,
  SubscriptionQuerySchema,
} from "../../gen/axon/query_pb.ts";
import { Channel } from "../core/channel.ts";
import { TimeoutError } from "../core/errors.ts";
import type { MessageRegistry } from "../core/registry.ts";
import type { BidiStream, Rpc } from "./rpc.ts";
import { fromErrorMessage } from "./protocol/errors.ts";
import { fromSerializedObject } from "./protocol/messages.ts";

/** Options of {@link AxonSubscription}. */
export interface AxonSubscriptionOptions {
  /** Updates the server may send ahead of the consumer (the initial permits). */
  readonly bufferSize: number;
  /** How long the initial result may take (the query's timeout). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * One open subscription query: `initial` settles with the initial result, `updates` fills as the server sends,
 * `taken()` after each update the consumer took grants the server more (in batches of an eighth of the buffer),
 * `close()` unsubscribes.
 */
export class AxonSubscription {
  readonly updates: Channel<Message>;
  /** The initial result (none when the handler answered nothing); rejects with the handler's error. */
  readonly initial: Promise<Message[]>;
  readonly #initial = Promise.withResolvers<Message[]>();
  readonly #id: string;
  readonly #name: string;
  readonly #registry: MessageRegistry;
  readonly #stream: BidiStream<SubscriptionQueryRequest, SubscriptionQueryResponse>;
  readonly #controller = new AbortController();
  readonly #batch: number;
  #taken = 0;
  #closed = false;

  constructor(rpc: Rpc, request: QueryRequest, registry: MessageRegistry, options: AxonSubscriptionOptions) {
    this.#id = request.messageIdentifier;
    this.#name = request.query;
    this.#registry = registry;
    this.#batch = Math.max(1, options.bufferSize >> 3);
    this.updates = new Channel<Message>(options.bufferSize);
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.#controller.signal])
      : this.#controller.signal;
    this.#stream = rpc.bidi(QueryService.method.subscription, { signal });
    // Like Axon's Java connector: the initial permits in one flow_control, none in the subscribe itself (a server
    // that counted both would let twice the buffer through).
    this.#send("flowControl", { numberOfPermits: BigInt(options.bufferSize) });
    this.#send("subscribe", { queryRequest: request });
    this.#send("getInitialResult", { queryRequest: request });
    this.initial = this.#initial.promise;
    this.initial.catch(() => {}); // a caller that stopped waiting must not see an unhandled rejection
    const timer = setTimeout(
      () =>
        this.#initial.reject(
          new TimeoutError(`Query "${request.query}" timed out after ${options.timeoutMs} ms`, "AXONIQ-5006"),
        ),
      options.timeoutMs,
    );
    this.initial.finally(() => clearTimeout(timer)).catch(() => {});
    void this.#receive();
  }

  /** The consumer took one update: after a batch of them, the server may send that many more. */
  readonly taken = (): void => {
    if (this.#closed || ++this.#taken < this.#batch) return;
    this.#taken = 0;
    this.#send("flowControl", { numberOfPermits: BigInt(this.#batch) });
  };

  /** Unsubscribes and ends the updates (idempotent). */
  readonly close = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    this.#initial.reject(new Error(`Subscription query "${this.#name}" closed before its initial result`));
    this.#send("unsubscribe", {});
    this.#stream.end();
    this.updates.close();
    this.#controller.abort();
  };

  #send(
    kind: "subscribe" | "getInitialResult" | "unsubscribe" | "flowControl",
    fields: { numberOfPermits?: bigint; queryRequest?: QueryRequest },
  ): void {
    const value = create(SubscriptionQuerySchema, { subscriptionIdentifier: this.#id, ...fields });
    this.#stream.send(create(SubscriptionQueryRequestSchema, { request: { case: kind, value } }));
  }

  async #receive(): Promise<void> {
    try {
      for await (const response of this.#stream.responses) {
        const r = response.response;
        if (r.case === "initialResult") {
          this.#initialResult(r.value);
        } else if (r.case === "update") {
          if (r.value.errorCode !== "") {
            this.updates.fail(fromErrorMessage(r.value.errorCode, r.value.errorMessage, this.#name));
            break;
          }
          const payload = fromSerializedObject(r.value.payload);
          if (payload) this.updates.push(this.#registry.decode(payload));
          else this.taken(); // nothing for the consumer: its permit comes back at once
        } else if (r.case === "complete") {
          break;
        } else if (r.case === "completeExceptionally") {
          this.updates.fail(fromErrorMessage(r.value.errorCode, r.value.errorMessage, this.#name));
          break;
        }
      }
      this.updates.close();
    } catch (error) {
      this.#initial.reject(error);
      if (!this.#closed) this.updates.fail(error);
    } finally {
      this.close();
    }
  }

  /** Settles `initial`; the server counted the answer against the permits, so one comes back at once. */
  #initialResult(response: QueryResponse): void {
    this.taken();
    if (response.errorCode !== "" || response.errorMessage) {
      this.#initial.reject(
        fromErrorMessage(response.errorCode, response.errorMessage, this.#name, response.payload),
      );
      return;
    }
    const payload = fromSerializedObject(response.payload);
    this.#initial.resolve(payload ? [this.#registry.decode(payload)] : []);
  }
}
