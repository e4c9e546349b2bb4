/**
 * Membership of the instances that share a processor: every running instance keeps one claimed row in the token
 * store under processor `<name>@members`; the live rows are the members. An instance claims at most
 * `ceil(segments / members)` segments, so instances converge on a fair split. A row not extended for two claim
 * timeouts belongs to a dead instance and is removed by whichever member sees it first.
 *
 * @module
 */
import { ClaimError } from "../core/errors.ts";
import type { ProcessorContext } from "./processor_context.ts";

const MEMBERS_SUFFIX = "@members";

/** This instance's membership row. */
export class Membership {
  readonly #context: ProcessorContext;
  #memberId: number | undefined;

  constructor(context: ProcessorContext) {
    this.#context = context;
  }

  get #key(): string {
    return `${this.#context.name}${MEMBERS_SUFFIX}`;
  }

  /** Keeps this instance's row claimed (taking one when it has none); returns the number of live members. */
  async heartbeat(): Promise<number> {
    await this.#extend();
    if (this.#memberId === undefined) await this.#adoptOwnRow();
    while (this.#memberId === undefined) await this.#join();
    return await this.#countLive();
  }

  /** Removes this instance's row. */
  async leave(): Promise<void> {
    const id = this.#memberId;
    this.#memberId = undefined;
    if (id === undefined) return;
    try {
      await this.#context.options.tokenStore.deleteSegment(this.#key, id, this.#context.owner);
    } catch (error) {
      if (!(error instanceof ClaimError)) throw error;
    }
  }

  async #extend(): Promise<void> {
    if (this.#memberId === undefined) return;
    try {
      await this.#context.options.tokenStore.extend(this.#key, this.#memberId, this.#context.owner);
    } catch (error) {
      if (!(error instanceof ClaimError)) throw error;
      this.#memberId = undefined;
    }
  }

  /** A restart under the same owner id takes its own previous row back instead of counting as a second member. */
  async #adoptOwnRow(): Promise<void> {
    const { options: { tokenStore }, owner, claimTimeoutMs } = this.#context;
    const own = (await tokenStore.entries(this.#key)).find((entry) => entry.owner === owner);
    if (own && await tokenStore.claim(this.#key, own.segment, owner, claimTimeoutMs)) {
      this.#memberId = own.segment;
    }
  }

  /** Creates and claims a row under a random id (another instance may take the same id first). */
  async #join(): Promise<void> {
    const { options: { tokenStore }, owner, claimTimeoutMs } = this.#context;
    const id = crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
    try {
      await tokenStore.initializeSegment(this.#key, id, { index: -1 });
    } catch (error) {
      if (error instanceof ClaimError) return;
      throw error;
    }
    if (await tokenStore.claim(this.#key, id, owner, claimTimeoutMs)) this.#memberId = id;
  }

  /** Counts the live rows and removes the rows of members gone for two timeouts. */
  async #countLive(): Promise<number> {
    const { options: { tokenStore }, owner, claimTimeoutMs, clock } = this.#context;
    const now = clock.now();
    let live = 0;
    for (const entry of await tokenStore.entries(this.#key)) {
      if (entry.owner !== undefined && entry.claimedAt + claimTimeoutMs > now) {
        live++;
      } else if (entry.claimedAt + 2 * claimTimeoutMs <= now) {
        // Whoever claims the dead row first removes it.
        if (await tokenStore.claim(this.#key, entry.segment, owner, claimTimeoutMs)) {
          await tokenStore.deleteSegment(this.#key, entry.segment, owner);
        }
      }
    }
    return Math.max(1, live);
  }
}
