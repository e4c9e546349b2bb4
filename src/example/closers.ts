/**
 * What a start opened, to be closed again: the composition root (`wiring.ts`) pushes a step for each part it
 * starts and closes them in reverse order on shutdown or when a later part fails to start.
 *
 * @module
 */
import { errorFields, type Logger } from "../server/log.ts";

/** Closes one part. */
export type Closer = () => Promise<void> | void;

/** What a start opened, closed in reverse order; a failing step is logged and the others still run. */
export class Closers {
  readonly #steps: Closer[] = [];
  readonly #logger: Logger;
  #stopping: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  push(close: Closer): void {
    this.#steps.push(close);
  }

  /** Runs every step once; safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#closeAll();
    return this.#stopping;
  }

  async #closeAll(): Promise<void> {
    for (const close of this.#steps.reverse()) {
      try {
        await close();
      } catch (error) {
        this.#logger.error("shutdown step failed", errorFields(error));
      }
    }
  }
}
