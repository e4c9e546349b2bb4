/**
 * Stateless challenge nonces that a flood cannot evict. A nonce is its issue time, random bytes and an HMAC
 * over both with a per-process secret, so issuing one stores nothing: any number of GetChallenge calls leaves
 * every nonce handed out earlier valid. A nonce is single-use: the store remembers the nonces it accepted, and
 * only until they expire (then the time check refuses them anyway), so memory is bounded by the rate of
 * accepted (i.e. validly signed) requests times the lifetime.
 *
 * Layout (32 bytes): issue time in epoch milliseconds (8 bytes, big-endian), 8 random bytes, the first 16
 * bytes of HMAC-SHA-256(secret, first 16 bytes).
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "./jwt.ts";

/**
 * A nonce as handed out.
 *
 * @example
 * ```ts
 * import { type Challenge, ChallengeStore } from "./mod.ts";
 * const challenges = new ChallengeStore({ ttlMs: 30_000 });
 * const challenge: Challenge = challenges.issue(); // what GetChallenge answers
 * console.log(challenge.nonce.length, challenge.expiresAt > Date.now()); // 32 true
 * ```
 */
export interface Challenge {
  /** The random nonce to sign. */
  readonly nonce: Uint8Array;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/**
 * Options of {@link ChallengeStore}.
 *
 * @example
 * ```ts
 * import { ChallengeStore, type ChallengeStoreOptions } from "./mod.ts";
 * // Nonces valid in every process that shares the secret, for two minutes:
 * const secret = crypto.getRandomValues(new Uint8Array(32));
 * const options: ChallengeStoreOptions = { ttlMs: 120_000, secret };
 * const challenges = new ChallengeStore(options);
 * const { nonce } = challenges.issue();
 * console.log(challenges.consume(nonce)); // true
 * ```
 */
export interface ChallengeStoreOptions {
  /** How long a nonce stays valid (default 60 s). */
  readonly ttlMs?: number;
  /** The clock nonces expire by (default Date.now). */
  readonly clock?: Clock;
  /** The HMAC secret (default: 32 random bytes per store, so nonces are valid only in the issuing process). */
  readonly secret?: Uint8Array;
}

/** The length of a nonce in bytes. */
export const NONCE_LENGTH = 32;
const STAMPED = 16;
/** A nonce stamped this far in the future (clock steps between processes' reads) is still accepted. */
const FUTURE_SKEW_MS = 1_000;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Issues and checks single-use nonces.
 *
 * @example
 * ```ts
 * import { ChallengeStore } from "./challenges.ts";
 * const store = new ChallengeStore({ ttlMs: 30_000 });
 * const { nonce } = store.issue();
 * console.log(store.consume(nonce), store.consume(nonce)); // true false
 * ```
 */
export class ChallengeStore {
  readonly #used = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #clock: Clock;
  readonly #secret: Uint8Array;
  #nextSweep = 0;

  /** A store with its own secret unless `options.secret` is given. */
  constructor(options: ChallengeStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#clock = options.clock ?? Date.now;
    this.#secret = options.secret ?? crypto.getRandomValues(new Uint8Array(32));
  }

  /** A fresh 32-byte nonce; nothing is stored. */
  issue(): Challenge {
    const now = this.#clock();
    const nonce = new Uint8Array(NONCE_LENGTH);
    new DataView(nonce.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(now))));
    crypto.getRandomValues(nonce.subarray(8, STAMPED));
    nonce.set(this.#mac(nonce.subarray(0, STAMPED)), STAMPED);
    return { nonce, expiresAt: now + this.#ttlMs };
  }

  /** True when this store issued `nonce`, it has not expired and it was not used. It is not consumed. */
  check(nonce: Uint8Array): boolean {
    const expiresAt = this.#expiry(nonce);
    return expiresAt !== undefined && !this.#used.has(hex(nonce));
  }

  /** Takes a nonce: true only the first time, and only for a nonce this store issued that has not expired. */
  consume(nonce: Uint8Array): boolean {
    const expiresAt = this.#expiry(nonce);
    if (expiresAt === undefined) return false;
    this.#sweep();
    const key = hex(nonce);
    if (this.#used.has(key)) return false;
    this.#used.set(key, expiresAt);
    return true;
  }

  /** How many used nonces are remembered (until they expire). */
  get size(): number {
    return this.#used.size;
  }

  #mac(stamped: Uint8Array): Uint8Array {
    return new Uint8Array(createHmac("sha256", this.#secret).update(stamped).digest().subarray(0, 16));
  }

  /** The nonce's expiry when it is authentic and current, else undefined. */
  #expiry(nonce: Uint8Array): number | undefined {
    if (nonce.length !== NONCE_LENGTH) return undefined;
    if (!timingSafeEqual(this.#mac(nonce.subarray(0, STAMPED)), nonce.subarray(STAMPED))) return undefined;
    const issuedAt = Number(new DataView(nonce.buffer, nonce.byteOffset).getBigUint64(0));
    const now = this.#clock();
    const expiresAt = issuedAt + this.#ttlMs;
    return issuedAt <= now + FUTURE_SKEW_MS && now <= expiresAt ? expiresAt : undefined;
  }

  #sweep(): void {
    const now = this.#clock();
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + Math.min(this.#ttlMs, 1_000);
    for (const [key, expiresAt] of this.#used) {
      if (expiresAt < now) this.#used.delete(key);
    }
  }
}
