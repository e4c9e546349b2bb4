/**
 * Builds the ports of the embedded mode and starts the greeter on them. `main.ts` only calls
 * {@link createEmbedded}; which adapters sit behind the ports is decided here and nowhere else.
 *
 * Today: in-process buses, the SQLite event store (`<data>/events.sqlite`), and the SQLite token and document
 * stores sharing one connection (`<data>/query.sqlite`). The embedded Axon-API server (soma) replaces the buses
 * and the event store behind this same function.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  LocalCommandBus,
  LocalQueryBus,
  MessageRegistry,
  Sqlite,
  SqliteDocumentStore,
  SqliteEventStore,
  SqliteTokenStore,
  type Synchronous,
} from "../dendrite/mod.ts";
import type { Config } from "../config.ts";
import { type GreeterPorts, startGreeter } from "./greeter/mod.ts";

/** The running embedded application: its ports and how to stop it. */
export interface Embedded {
  /** The ports the API talks to (only `commandBus` and `queryBus` are meant for it). */
  readonly ports: GreeterPorts;
  /** Stops the greeter's handlers and processor, then closes the stores. Safe to call twice. */
  close(): Promise<void>;
}

/** What {@link createEmbedded} reads from the configuration. */
export type EmbeddedConfig = Pick<Config, "dataDir">;

/** Options that do not come from the configuration. */
export interface EmbeddedOptions {
  /** SQLite durability (default FULL: an acknowledged command survives a power cut; NORMAL is an opt-in). */
  readonly synchronous?: Synchronous;
  /** Called when the projection's processor hits an error it retries. */
  readonly onProcessorError?: (error: unknown, where: { processor: string; segment: number }) => void;
}

/**
 * Creates the stores and buses under `config.dataDir` and starts the greeter's command handlers and projection.
 *
 * @example
 * ```ts ignore
 * const app = await createEmbedded({ dataDir: "./data" });
 * // … serve the API on app.ports.commandBus / app.ports.queryBus …
 * await app.close();
 * ```
 */
export async function createEmbedded(
  config: EmbeddedConfig,
  options: EmbeddedOptions = {},
): Promise<Embedded> {
  await mkdir(config.dataDir, { recursive: true });
  const synchronous = options.synchronous ?? "FULL";
  const eventStore = new SqliteEventStore({ path: join(config.dataDir, "events.sqlite"), synchronous });
  let querySqlite: Sqlite | undefined;
  try {
    querySqlite = new Sqlite(join(config.dataDir, "query.sqlite"), { synchronous });
    const ports: GreeterPorts = {
      commandBus: new LocalCommandBus(),
      queryBus: new LocalQueryBus(),
      eventStore,
      registry: new MessageRegistry(),
      tokenStore: new SqliteTokenStore({ sqlite: querySqlite }),
      documentStore: new SqliteDocumentStore({ sqlite: querySqlite }),
    };
    const greeter = await startGreeter(ports, {
      command: true,
      projection: true,
      onError: options.onProcessorError,
    });
    const sqlite = querySqlite;
    let closing: Promise<void> | undefined;
    return {
      ports,
      close() {
        closing ??= (async () => {
          try {
            await greeter.stop();
          } finally {
            eventStore.close();
            sqlite.close();
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    eventStore.close();
    querySqlite?.close();
    throw error;
  }
}
