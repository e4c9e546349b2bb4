/**
 * Permits for the handler of one streaming query, bounded by the caller's flow control: the handler may be
 * `ahead` responses beyond what the caller's HTTP/2 window has taken. Each response soma writes is held until the
 * caller allowed the bytes up to its end; then the handler gets one more permit. A caller that stops reading stops
 * the handler after `ahead` responses (plus what its window holds); nothing piles up in soma.
 *
 * Without a view of the caller's window (a call that did not come through soma's gRPC listener), a response
 * frees its permit once written, as before.
 *
 * @module
 */
import type { CallerStream } from "./caller_windows.ts";

/**
 * The permits of one streaming query.
 *
 * @example
 * ```ts
 * import { StreamingPermits } from "./streaming_permits.ts";
 * const permits = new StreamingPermits(undefined, 32, (n) => console.log("grant", n));
 * permits.start(); // grant 32
 * permits.written(120); // grant 1
 * permits.close();
 * ```
 */
export class StreamingPermits {
  readonly #caller: CallerStream | undefined;
  readonly #ahead: number;
  readonly #grant: (permits: number) => void;
  /** End offsets (cumulative bytes on the stream) of the responses the caller has not allowed yet. */
  readonly #held: number[] = [];
  #bytes = 0;
  #unwatch: (() => void) | undefined;

  constructor(caller: CallerStream | undefined, ahead: number, grant: (permits: number) => void) {
    this.#caller = caller;
    this.#ahead = ahead;
    this.#grant = grant;
  }

  /** Whether the permits follow the caller's window (false: one per written response). */
  get followsCaller(): boolean {
    return this.#caller !== undefined;
  }

  /** Responses written that the caller's window has not taken yet. */
  get held(): number {
    return this.#held.length;
  }

  /** Grants the first `ahead` permits and starts following the caller. */
  start(): void {
    this.#unwatch = this.#caller?.watch(() => this.#release());
    this.#grant(this.#ahead);
  }

  /** A response of `bytes` (gRPC frame included) was written to the caller. */
  written(bytes: number): void {
    if (!this.#caller) {
      this.#grant(1);
      return;
    }
    this.#bytes += bytes;
    this.#held.push(this.#bytes);
    this.#release();
  }

  /** Stops following the caller. */
  close(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #release(): void {
    const allowed = this.#caller?.allowed() ?? Infinity;
    let released = 0;
    while (this.#held.length > 0 && this.#held[0] <= allowed) {
      this.#held.shift();
      released++;
    }
    if (released > 0) this.#grant(released);
  }
}
