/**
 * The durable head of an event store, shared between threads: the token of the last event on the disk, in a
 * `SharedArrayBuffer`. The thread that appends publishes it after every durable commit; a reader of the same
 * file in a worker never reads past it and sleeps (`Atomics.waitAsync`) until it moves. A reader of the file
 * alone could see a transaction that is committed but not yet synced, which its appenders may still be told
 * failed; the head is what they were told succeeded.
 *
 * @module
 */

/**
 * A token in shared memory that only moves forward.
 *
 * @example
 * ```ts
 * import { DurableHead } from "./durable_head.ts";
 * const head = new DurableHead();
 * const seen = new DurableHead(head.buffer); // e.g. in a worker, from `postMessage(head.buffer)`
 * const woken = seen.waitBeyond(-1);
 * head.publish(41);
 * console.log(await woken, seen.get()); // 41 41
 * ```
 */
export class DurableHead {
  /** The shared memory: hand it to another thread, which wraps it in a `DurableHead` of its own. */
  readonly buffer: SharedArrayBuffer;
  readonly #cell: BigInt64Array;

  /** A new head at -1 (no events), or a view of `buffer` (made by another thread's `DurableHead`). */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT);
    this.#cell = new BigInt64Array(this.buffer);
    if (!buffer) this.#cell[0] = -1n;
  }

  /** The last durable token (-1: none). */
  get(): number {
    return Number(Atomics.load(this.#cell, 0));
  }

  /** Moves the head to `token` and wakes the threads waiting on it; a token behind the head changes nothing. */
  publish(token: number): void {
    if (token <= this.get()) return;
    Atomics.store(this.#cell, 0, BigInt(token));
    Atomics.notify(this.#cell, 0);
  }

  /** Resolves with the head once it is past `token` (at once if it already is); rejects when `signal` aborts. */
  async waitBeyond(token: number, signal?: AbortSignal): Promise<number> {
    while (true) {
      signal?.throwIfAborted();
      const current = Atomics.load(this.#cell, 0);
      if (Number(current) > token) return Number(current);
      const { async, value } = Atomics.waitAsync(this.#cell, 0, current);
      if (!async) continue; // it moved in between
      if (!signal) {
        await value;
        continue;
      }
      const aborted = Promise.withResolvers<void>();
      const onAbort = () => aborted.resolve();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        await Promise.race([value, aborted.promise]);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
  }
}
