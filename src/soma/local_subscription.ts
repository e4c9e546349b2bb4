/**
 * One subscription query of an in-process caller: the sink the query router feeds, and the bounded channel the
 * caller reads the decoded updates from. A failed update, an exceptional completion or a consumer that fell behind
 * its buffer ends the subscription (the router forgets it and the handlers get `unsubscribe`).
 *
 * @module
 */
import type { Message } from "@bufbuild/protobuf";
import type { MessageRegistry, SubscriptionQueryOptions } from "../dendrite/mod.ts";
import { Channel } from "../dendrite/core/channel.ts";
import type { HandlingError } from "./commands.ts";
import { errorOf } from "./local_errors.ts";
import type { QueryRouter } from "./queries.ts";
import type { QueryResult, SubscriptionSink } from "./query_types.ts";

/** The sink of one in-process subscription query. */
export class LocalSubscription implements SubscriptionSink {
  /** The decoded updates, for the caller. */
  readonly channel: Channel<Message>;
  readonly #router: QueryRouter;
  readonly #registry: MessageRegistry;
  readonly #id: string;
  readonly #name: string;
  readonly #onEnd: (() => void) | undefined;
  #ended = false;

  constructor(
    router: QueryRouter,
    registry: MessageRegistry,
    id: string,
    name: string,
    options: Pick<SubscriptionQueryOptions, "bufferSize" | "onEnd">,
  ) {
    this.channel = new Channel<Message>(options.bufferSize ?? 1024);
    this.#router = router;
    this.#registry = registry;
    this.#id = id;
    this.#name = name;
    this.#onEnd = options.onEnd;
  }

  update(update: QueryResult): void {
    if (update.error) {
      this.channel.fail(errorOf(update.error, "query", this.#name, this.#registry));
    } else if (update.payload) {
      try {
        this.channel.push(update.payload.message(this.#registry));
      } catch (error) {
        this.channel.fail(error);
      }
    }
    // Failed, or dropped because its consumer fell behind its buffer: no more updates.
    if (this.channel.closed) this.#drop();
  }

  complete(): void {
    this.close();
  }

  completeExceptionally(error: HandlingError): void {
    this.#drop();
    this.channel.fail(errorOf(error, "query", this.#name, this.#registry));
  }

  /** The caller closes the subscription (bound: it is handed around). */
  readonly close = (): void => {
    this.#drop();
    this.channel.close();
  };

  /** Tells `onEnd` (once). */
  end(): void {
    if (!this.#ended) this.#onEnd?.();
    this.#ended = true;
  }

  #drop(): void {
    this.#router.closeSubscription(this.#id);
    this.end();
  }
}
