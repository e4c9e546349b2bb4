/**
 * The greeter domain, wired onto dendrite's ports: the aggregate's command handlers (role "command"), and the
 * projection with its query handlers (role "projection"). Nothing here knows which adapters are behind the ports.
 *
 * @module
 */
import { registerAggregate, type Registration, type TrackingProcessor } from "../../dendrite/mod.ts";
import { Greeter } from "./aggregate.ts";
import { greeterModel, greeterProjection, registerGreeterQueries } from "./projection.ts";
import { type StartedProcessor, startProcessor } from "../processors.ts";
import type { AppPorts } from "../features.ts";

export { Greeter, GreeterErrors, MAX_GREETING_LENGTH } from "./aggregate.ts";
export * from "./projection.ts";

/** The default greeter (the API greets this one). */
export const DEFAULT_GREETER = "main";

/** The ports the greeter needs: the application's ports (see features.ts). */
export type GreeterPorts = AppPorts;

export interface GreeterOptions {
  /** Handle the greeter's commands here. */
  readonly command: boolean;
  /** Run the projection and answer the greeter's queries here. */
  readonly projection: boolean;
  /** Segments of the projection's processor when it is first created (default 1). */
  readonly segments?: number;
  /** Processor claim owner (default: a fresh id); a stable one lets a restart take its segments back at once. */
  readonly owner?: string;
  /** A claim not extended for this long may be taken over by another instance (default 10 s). */
  readonly claimTimeoutMs?: number;
  /** Handler attempts before a poison event is dead-lettered (default 10). */
  readonly maxAttempts?: number;
  /** The token store joins the document store's unit of work (one SQLite database): exactly-once projection. */
  readonly tokenInUnitOfWork?: boolean;
  readonly onError?: (error: unknown, where: { processor: string; segment: number; token: number }) => void;
}

/** What runs. */
export interface GreeterRuntime {
  readonly processor?: TrackingProcessor;
  stop(): Promise<void>;
}

/**
 * Starts the greeter's roles on the given ports.
 *
 * @example
 * ```ts ignore
 * const greeter = await startGreeter(ports, { command: true, projection: true });
 * await greeter.stop();
 * ```
 */
export async function startGreeter(ports: GreeterPorts, options: GreeterOptions): Promise<GreeterRuntime> {
  const registrations: Registration[] = [];
  let started: StartedProcessor | undefined;
  try {
    if (options.command) {
      const { registrations: handlers } = await registerAggregate(ports.commandBus, Greeter, {
        eventStore: ports.eventStore,
        registry: ports.registry,
      });
      registrations.push(...handlers);
    }
    if (options.projection) {
      if (!ports.tokenStore || !ports.documentStore || !ports.deadLetters) {
        throw new TypeError(
          "The projection role needs a token store, a document store and a dead-letter queue",
        );
      }
      const model = greeterModel(ports.documentStore);
      registrations.push(...await registerGreeterQueries(ports.queryBus, model));
      // Listed on the ports' processor host (the dashboard) by startProcessor itself.
      started = await startProcessor(
        { ...ports, tokenStore: ports.tokenStore },
        greeterProjection(model, ports.queryBus),
        {
          deadLetters: ports.deadLetters,
          initialSegments: options.segments,
          owner: options.owner,
          claimTimeoutMs: options.claimTimeoutMs,
          poison: { maxAttempts: options.maxAttempts },
          tokenInUnitOfWork: options.tokenInUnitOfWork,
          onError: options.onError,
        },
      );
    }
  } catch (error) {
    await Promise.allSettled(registrations.map((r) => r.cancel()));
    throw error;
  }
  return {
    processor: started?.processor,
    async stop() {
      await Promise.allSettled(registrations.map((r) => r.cancel()));
      await started?.stop();
    },
  };
}
