/**
 * Counts the requests a server has not finished, so that a shutdown can wait for them with a deadline and then
 * cut the rest (`Deno.serve`'s own graceful `shutdown()` waits without a bound and cannot be made forceful
 * afterwards).
 *
 * @module
 */

/** Open requests and a way to wait until none is left. */
export class OpenRequests {
  #open = 0;
  readonly #waiters = new Set<() => void>();

  /** How many requests are open. */
  get size(): number {
    return this.#open;
  }

  /** Counts one request; the returned function ends it (calling it again does nothing). */
  enter(): () => void {
    this.#open++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.#open === 0) { for (const wake of [...this.#waiters]) wake(); }
    };
  }

  /** Resolves `true` once no request is open, or `false` when `timeoutMs` passed first. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.#open === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(idle);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.#waiters.add(wake);
    });
  }
}
