/**
 * Bounds on live subscription queries: each one holds its initial result, an update buffer and a stream, so an
 * unbounded number of them exhausts the process's memory. A {@link SubscriptionLimiter} hands out leases, at most
 * `maxTotal` in all and `maxPerClient` per client key (a client address, a client id); beyond that it refuses
 * with a {@link SubscriptionLimitError} (`AXONIQ-1900`, too many requests: RESOURCE_EXHAUSTED on the wire).
 *
 * @module
 */
import { AxonErrorCode, DendriteError } from "../core/errors.ts";

/**
 * Limits of a {@link SubscriptionLimiter}.
 *
 * @example
 * ```ts
 * import { SubscriptionLimiter, type SubscriptionLimits } from "../mod.ts";
 * const limits: SubscriptionLimits = { maxTotal: 1_000, maxPerClient: 10 };
 * const limiter = new SubscriptionLimiter(limits);
 * const release = limiter.acquire("10.0.0.1"); // throws a SubscriptionLimitError beyond a limit
 * release();
 * ```
 */
export interface SubscriptionLimits {
  /** Live subscriptions in all. */
  readonly maxTotal: number;
  /** Live subscriptions of one client key. */
  readonly maxPerClient: number;
}

/**
 * Defaults: generous for a UI, far below what exhausts a small heap (a subscription costs up to ~0.5 MB).
 *
 * @example
 * ```ts
 * import { DEFAULT_SUBSCRIPTION_LIMITS, SubscriptionLimiter } from "./subscription_limits.ts";
 * const limiter = new SubscriptionLimiter({ ...DEFAULT_SUBSCRIPTION_LIMITS, maxPerClient: 5 });
 * ```
 */
export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = { maxTotal: 200, maxPerClient: 20 };

/**
 * A subscription refused because a limit is reached.
 *
 * @example
 * ```ts
 * import { SubscriptionLimitError } from "./subscription_limits.ts";
 * console.log(new SubscriptionLimitError("client", 20).limit); // client
 * ```
 */
export class SubscriptionLimitError extends DendriteError {
  /** Which limit: "total" or "client". */
  readonly limit: "total" | "client";

  /** The `limit` of `max` subscriptions is reached. */
  constructor(limit: "total" | "client", max: number) {
    super(
      AxonErrorCode.TOO_MANY_REQUESTS,
      limit === "total"
        ? `Too many live subscriptions (at most ${max} in all); close one and try again`
        : `Too many live subscriptions from this client (at most ${max}); close one and try again`,
    );
    this.limit = limit;
  }
}

/**
 * Counts live subscriptions per client and in all.
 *
 * @example
 * ```ts
 * import { SubscriptionLimiter } from "./subscription_limits.ts";
 * const limiter = new SubscriptionLimiter({ maxTotal: 2, maxPerClient: 1 });
 * const release = limiter.acquire("10.0.0.1");
 * console.log(limiter.total); // 1
 * release();
 * ```
 */
export class SubscriptionLimiter {
  /** The limits it enforces. */
  readonly limits: SubscriptionLimits;
  readonly #perClient = new Map<string, number>();
  #total = 0;

  /** A limiter with no live subscriptions. */
  constructor(limits: SubscriptionLimits = DEFAULT_SUBSCRIPTION_LIMITS) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${name} must be a whole number ≥ 1`);
      }
    }
    this.limits = limits;
  }

  /** Live subscriptions in all. */
  get total(): number {
    return this.#total;
  }

  /** Live subscriptions of one client key. */
  count(client: string): number {
    return this.#perClient.get(client) ?? 0;
  }

  /**
   * Takes a lease for `client`; returns its release (idempotent).
   *
   * @throws {SubscriptionLimitError} when a limit is reached.
   */
  acquire(client: string): () => void {
    if (this.#total >= this.limits.maxTotal) throw new SubscriptionLimitError("total", this.limits.maxTotal);
    const mine = this.count(client);
    if (mine >= this.limits.maxPerClient) {
      throw new SubscriptionLimitError("client", this.limits.maxPerClient);
    }
    this.#total++;
    this.#perClient.set(client, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = this.count(client) - 1;
      if (left > 0) this.#perClient.set(client, left);
      else this.#perClient.delete(client);
    };
  }
}
