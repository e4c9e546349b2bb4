/**
 * A call's context values whose peer address is read only when a handler asks for it. `Deno.serve` makes the
 * address an object of its own on every read of `info.remoteAddr` (~2% of the thread on a trivial call), while
 * only a few handlers read it (login limits, live-stream limits).
 *
 * @module
 */
import { type ContextKey, type ContextValues, createContextValues } from "@connectrpc/connect";
import { peerAddressKey } from "../dendrite/security/mod.ts";

/**
 * Context values with `peerAddressKey` set to what `peer()` returns, called at the first read of that key (never,
 * when nothing reads it or it is set first).
 *
 * @example
 * ```ts ignore
 * const values = lazyPeerValues(() => info.remoteAddr.hostname);
 * values.get(peerAddressKey); // reads the address now
 * ```
 */
export function lazyPeerValues(peer: () => string): ContextValues {
  return new LazyPeerValues(peer);
}

class LazyPeerValues implements ContextValues {
  readonly #values = createContextValues();
  #peer: (() => string) | undefined;

  constructor(peer: () => string) {
    this.#peer = peer;
  }

  get<T>(key: ContextKey<T>): T {
    if (this.#peer !== undefined && key.id === peerAddressKey.id) {
      this.#values.set(peerAddressKey, this.#peer());
      this.#peer = undefined;
    }
    return this.#values.get(key);
  }

  set<T>(key: ContextKey<T>, value: T): this {
    if (key.id === peerAddressKey.id) this.#peer = undefined;
    this.#values.set(key, value);
    return this;
  }

  delete(key: ContextKey<unknown>): this {
    if (key.id === peerAddressKey.id) this.#peer = undefined;
    this.#values.delete(key);
    return this;
  }
}
