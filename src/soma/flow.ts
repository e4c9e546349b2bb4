/**
 * A permit-gated, priority-ordered outbox for one handler stream: items wait until the handler has granted
 * permits (Axon `FlowControl`, cumulative); nothing leaves before the first grant.
 *
 * @module
 */

/** An item with a priority (higher first; equal priorities keep arrival order). */
export interface Prioritized {
  readonly priority: number;
}

/**
 * The outbox.
 *
 * @example
 * ```ts
 * import { FlowQueue } from "./flow.ts";
 * const sent: number[] = [];
 * const queue = new FlowQueue<{ priority: number; n: number }>((item) => sent.push(item.n));
 * queue.enqueue({ priority: 0, n: 1 });
 * queue.grant(5); // sends 1
 * ```
 */
export class FlowQueue<T extends Prioritized> {
  readonly #send: (item: T) => void;
  readonly #items: T[] = [];
  #permits: number;

  /** `permits` = Infinity for in-process handlers that need no flow control. */
  constructor(send: (item: T) => void, permits = 0) {
    this.#send = send;
    this.#permits = permits;
  }

  /** Permits not used yet. */
  get permits(): number {
    return this.#permits;
  }

  /** Items waiting for permits. */
  get size(): number {
    return this.#items.length;
  }

  /** Adds permits (cumulative) and sends what they allow. */
  grant(permits: number): void {
    if (!(permits > 0)) return;
    this.#permits += permits;
    this.#drain();
  }

  /** Queues an item by priority and sends it when a permit is available. */
  enqueue(item: T): void {
    let index = this.#items.length;
    while (index > 0 && this.#items[index - 1].priority < item.priority) index--;
    this.#items.splice(index, 0, item);
    this.#drain();
  }

  /** Removes a waiting item; false when it was not waiting (already sent). */
  remove(item: T): boolean {
    const index = this.#items.indexOf(item);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    return true;
  }

  /** Removes and returns every waiting item. */
  takeAll(): T[] {
    return this.#items.splice(0, this.#items.length);
  }

  #drain(): void {
    while (this.#permits > 0 && this.#items.length > 0) {
      this.#permits--;
      this.#send(this.#items.shift()!);
    }
  }
}
