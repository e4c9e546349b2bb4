/**
 * The Axon Server connector: dendrite's CommandBus, QueryBus and EventStore ports over the Axon Server gRPC API
 * (works against Axon Server and against soma).
 *
 * @example
 * ```ts
 * import { connectAxon } from "./mod.ts";
 * import { MessageRegistry, registerAggregate } from "../mod.ts";
 * import { Greeter } from "../../example/greeter/aggregate.ts";
 *
 * const registry = new MessageRegistry(Greeter.events);
 * const axon = await connectAxon({ address: "localhost:8124", componentName: "greeter" }, registry);
 * await registerAggregate(axon.commandBus, Greeter, { eventStore: axon.eventStore, registry });
 * await axon.close();
 * ```
 *
 * @module
 */
import type { MessageRegistry } from "../core/registry.ts";
import { AxonCommandBus } from "./command_bus.ts";
import { AxonConnection, type AxonConnectionOptions } from "./connection.ts";
import { AxonEventStore } from "./event_store.ts";
import { AxonQueryBus } from "./query_bus.ts";

export { AxonCommandBus } from "./command_bus.ts";
export {
  AxonConnection,
  type AxonConnectionOptions,
  CONNECTOR_VERSION,
  type ManagedProcessor,
} from "./connection.ts";
export { AxonEventStore } from "./event_store.ts";
export { AxonDcbEventStore } from "./dcb_event_store.ts";
export { AxonQueryBus } from "./query_bus.ts";
export { GrpcError } from "./rpc.ts";

/**
 * The connector's ports on one connection.
 *
 * @example
 * ```ts
 * import { type AxonConnector, connectAxon } from "./mod.ts";
 * import { MessageRegistry } from "../mod.ts";
 * const options = { address: "localhost:8124", componentName: "greeter" };
 * const axon: AxonConnector = await connectAxon(options, new MessageRegistry());
 * try {
 *   console.log(await axon.eventStore.lastToken());
 * } finally {
 *   await axon.close();
 * }
 * ```
 */
export interface AxonConnector {
  /** The connection the ports share. */
  readonly connection: AxonConnection;
  /** The CommandBus port over the connection. */
  readonly commandBus: AxonCommandBus;
  /** The QueryBus port over the connection. */
  readonly queryBus: AxonQueryBus;
  /** The EventStore port over the connection. */
  readonly eventStore: AxonEventStore;
  /** Unsubscribes handlers, lets running ones finish, closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects (retrying until `signal` aborts) and returns the three ports.
 *
 * @example
 * ```ts
 * import { connectAxon } from "./mod.ts";
 * import { MessageRegistry } from "../core/registry.ts";
 * const axon = await connectAxon(
 *   { address: "localhost:8124", componentName: "greeter" },
 *   new MessageRegistry(),
 *   AbortSignal.timeout(30_000),
 * );
 * console.log(await axon.eventStore.lastToken());
 * await axon.close();
 * ```
 */
export async function connectAxon(
  options: AxonConnectionOptions,
  registry: MessageRegistry,
  signal?: AbortSignal,
): Promise<AxonConnector> {
  const connection = await AxonConnection.connect(options, signal);
  const commandBus = new AxonCommandBus(connection, registry);
  const queryBus = new AxonQueryBus(connection, registry);
  const eventStore = new AxonEventStore(connection);
  return {
    connection,
    commandBus,
    queryBus,
    eventStore,
    async close() {
      await commandBus.close();
      await queryBus.close();
      await connection.close();
    },
  };
}
