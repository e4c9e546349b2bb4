/**
 * Starting an application's parts on the ports, one line each in the composition root (`wiring.ts`): an
 * aggregate's command handlers, a projection's tracking processor (listed on the dashboard by
 * {@link startProcessor}) and a set of query handlers. `deno task new` writes these lines at the
 * `// dendrite:scaffold:…` anchors; each call returns the stop function the root keeps for shutdown.
 *
 * @module
 */
import type { Message } from "@bufbuild/protobuf";
import {
  type AggregateDefinition,
  type CommandBus,
  type DeadLetterQueue,
  type DocumentStore,
  type EventStore,
  type MessageRegistry,
  type Projection,
  type QueryBus,
  registerAggregate,
  type Registration,
  type TokenStore,
} from "../dendrite/mod.ts";
import { type ProcessorHost, type ProcessorPorts, startProcessor } from "./processors.ts";

/** Stops what a start function started. */
export type Stop = () => Promise<void>;

/** The ports of the application's roles. */
export interface AppPorts {
  readonly commandBus: CommandBus;
  readonly queryBus: QueryBus;
  readonly eventStore: EventStore;
  readonly registry: MessageRegistry;
  /** Needed for the projection role. */
  readonly tokenStore?: TokenStore;
  /** Needed for the projection role. */
  readonly documentStore?: DocumentStore;
  /** Needed for the projection role: where its poison events and the events queued behind them are kept. */
  readonly deadLetters?: DeadLetterQueue;
  /** Where processors started on these ports register (none: they run unlisted, e.g. in unit tests). */
  readonly processors?: ProcessorHost;
}

async function cancelAll(registrations: readonly Registration[]): Promise<void> {
  const outcomes = await Promise.allSettled(registrations.map((registration) => registration.cancel()));
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Subscribes an aggregate's command handlers (role "command").
 *
 * @example
 * ```ts ignore
 * closers.push(await startAggregate(ports, Farewell));
 * ```
 */
export async function startAggregate<S, C extends Message, E extends Message>(
  ports: Pick<AppPorts, "commandBus" | "eventStore" | "registry">,
  aggregate: AggregateDefinition<S, C, E>,
): Promise<Stop> {
  const { registrations } = await registerAggregate(ports.commandBus, aggregate, {
    eventStore: ports.eventStore,
    registry: ports.registry,
  });
  return () => cancelAll(registrations);
}

/**
 * Runs a projection's tracking processor (role "projection") with the process's processor options, listed on
 * the ports' processor host.
 *
 * @example
 * ```ts ignore
 * closers.push(await startProjection(queryPorts, farewellProjection(farewellModel(documentStore)), processing));
 * ```
 */
export async function startProjection(
  ports: ProcessorPorts,
  projection: Projection,
  options: Parameters<typeof startProcessor>[2],
): Promise<Stop> {
  const started = await startProcessor(ports, projection, options);
  return () => started.stop();
}

/**
 * Subscribes query handlers (role "projection"); `register` returns their registrations.
 *
 * @example
 * ```ts ignore
 * closers.push(await startQueries(() => registerFarewellQueries(ports.queryBus, farewellModel(documentStore))));
 * ```
 */
export async function startQueries(register: () => Promise<Registration[]>): Promise<Stop> {
  const registrations = await register();
  return () => cancelAll(registrations);
}
