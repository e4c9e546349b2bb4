/**
 * Counts of routed messages by name and outcome, kept by the command and query routers and read by soma's
 * `/metrics` at scrape time. Names come from clients, so the number of distinct names is capped: beyond
 * {@link MAX_NAMES}, further names are counted under `(other)`.
 *
 * @module
 */

/** Distinct names counted one by one. */
export const MAX_NAMES = 1_000;

/** The name the counts of names beyond the cap go to. */
export const OTHER = "(other)";

/** One counted series. */
export interface RouteCount {
  readonly name: string;
  readonly outcome: string;
  readonly count: number;
}

/** Counts by name and outcome. */
export class RouteCounts {
  readonly #counts = new Map<string, Map<string, number>>();

  /** Counts one message `name` that ended with `outcome`. */
  add(name: string, outcome: string): void {
    const key = this.#counts.has(name) || this.#counts.size < MAX_NAMES ? name : OTHER;
    let outcomes = this.#counts.get(key);
    if (!outcomes) this.#counts.set(key, outcomes = new Map());
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }

  /** Every series counted so far. */
  *entries(): Iterable<RouteCount> {
    for (const [name, outcomes] of this.#counts) {
      for (const [outcome, count] of outcomes) yield { name, outcome, count };
    }
  }
}
