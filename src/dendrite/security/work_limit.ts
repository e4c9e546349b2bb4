/**
 * A bound on concurrent expensive work (e.g. scrypt): at most `concurrency` tasks run, at most `queue` wait,
 * and beyond that a task is refused at once with a {@link TooManyAttemptsError}, so a flood of such requests
 * cannot take every core from the rest of the server.
 *
 * @module
 */
import { TooManyAttemptsError } from "./throttle.ts";

/**
 * The knobs of a {@link WorkLimit}.
 *
 * @example
 * ```ts
 * import { hashPassword, WorkLimit, type WorkLimitOptions } from "./mod.ts";
 * // Two scrypt hashes at a time, eight waiting, then refuse with "retry after 2 s":
 * const options: WorkLimitOptions = { concurrency: 2, queue: 8, retryAfterMs: 2_000 };
 * const scrypt = new WorkLimit(options);
 * const stored = await scrypt.run(() => hashPassword("correct horse"));
 * ```
 */
export interface WorkLimitOptions {
  /** Tasks that may run at once (default 1). */
  readonly concurrency?: number;
  /** Tasks that may wait (default 16). */
  readonly queue?: number;
  /** What a refusal suggests as retry-after (default 1 s). */
  readonly retryAfterMs?: number;
}

/**
 * A small semaphore with a bounded queue.
 *
 * @example
 * ```ts
 * import { WorkLimit } from "./work_limit.ts";
 * const limit = new WorkLimit({ concurrency: 1, queue: 4 });
 * console.log(await limit.run(() => Promise.resolve(42))); // 42
 * ```
 */
export class WorkLimit {
  readonly #concurrency: number;
  readonly #queueLimit: number;
  readonly #retryAfterMs: number;
  readonly #waiting: (() => void)[] = [];
  #active = 0;

  /** A limit with no work running. */
  constructor(options: WorkLimitOptions = {}) {
    this.#concurrency = options.concurrency ?? 1;
    this.#queueLimit = options.queue ?? 16;
    this.#retryAfterMs = options.retryAfterMs ?? 1_000;
    if (!(this.#concurrency >= 1) || !(this.#queueLimit >= 0)) {
      throw new RangeError("A work limit needs a concurrency of at least 1 and a queue of at least 0");
    }
  }

  /** Runs `task` when a slot is free; refuses at once when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#concurrency) {
      if (this.#waiting.length >= this.#queueLimit) {
        throw new TooManyAttemptsError("The server is busy checking passwords", this.#retryAfterMs);
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next(); // the slot passes on; #active stays
      else this.#active--;
    }
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }
}
