/**
 * A bounded async queue: producers `push`, one consumer iterates. Used for subscription-query updates and
 * stream adapters. Overflow is an error (the consumer is too slow), never silent loss.
 *
 * @module
 */
import { abortReason } from "./errors.ts";

/**
 * Raised to the consumer when more than `capacity` items were waiting.
 *
 * @example
 * ```ts
 * import { ChannelOverflowError } from "./channel.ts";
 * const error = new ChannelOverflowError(1024);
 * console.log(error.name); // ChannelOverflowError
 * ```
 */
export class ChannelOverflowError extends Error {
  /** More than `capacity` items were waiting. */
  constructor(capacity: number) {
    super(`More than ${capacity} items were waiting for a slow consumer`);
    this.name = "ChannelOverflowError";
  }
}

/**
 * A single-consumer async channel.
 *
 * @example
 * ```ts
 * import { Channel } from "./channel.ts";
 * const channel = new Channel<number>();
 * channel.push(1);
 * channel.close();
 * for await (const n of channel) console.log(n); // 1
 * ```
 */
export class Channel<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #wake: (() => void) | undefined;
  #done = false;
  #error: unknown = undefined;
  #failed = false;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /** Adds an item; fails the channel when the consumer lags more than `capacity` items. Ignored once closed. */
  push(item: T): void {
    if (this.#done) return;
    if (this.#items.length >= this.#capacity) {
      this.fail(new ChannelOverflowError(this.#capacity));
      return;
    }
    this.#items.push(item);
    this.#notify();
  }

  /** Ends the channel after the queued items. */
  close(): void {
    this.#done = true;
    this.#notify();
  }

  /** Ends the channel with an error, raised to the consumer after the queued items. */
  fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#failed = true;
    this.#error = error;
    this.#notify();
  }

  get closed(): boolean {
    return this.#done;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Iterates until closed; aborting `signal` ends the iteration with the signal's reason. */
  async *iterate(signal?: AbortSignal): AsyncGenerator<T> {
    const onAbort = () => this.#notify();
    signal?.addEventListener("abort", onAbort);
    try {
      while (true) {
        if (signal?.aborted) throw abortReason(signal);
        if (this.#items.length > 0) {
          yield this.#items.shift()!;
          continue;
        }
        if (this.#done) {
          if (this.#failed) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.#done = true;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.iterate();
  }
}
