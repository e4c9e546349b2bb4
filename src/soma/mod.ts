/**
 * soma: an embedded single-node server that speaks the Axon Server gRPC API (PlatformService, CommandService,
 * QueryService, EventStore, EventScheduler) over dendrite's SQLite event store, and offers the same routing table
 * and store in-process as dendrite's `CommandBus`, `QueryBus` and `EventStore` ports.
 *
 * @example
 * ```ts ignore
 * import { startSoma } from "./mod.ts";
 * const soma = await startSoma({ dataDir: "./data", port: 8124, httpPort: 8024 });
 * await soma.commandBus.subscribe(GreetCommandSchema, handleGreet);   // in-process handler
 * await soma.commandBus.dispatch(create(GreetCommandSchema, { greeterId: "main" })); // no gRPC hop
 * await soma.close();
 * ```
 *
 * @module
 */
import { SomaNode, somaSettings } from "./node.ts";
import type { Soma, SomaOptions } from "./options.ts";
import { openSomaStores } from "./stores.ts";

export type {
  ActionOutcome,
  ClientView,
  LocalProcessor,
  ProcessorView,
  SomaStatus,
  StatusCell,
  StatusSection,
  StatusSectionProvider,
} from "./status.ts";
export type { InstructionOutcome, ProcessorAction } from "./platform.ts";
export type { SomaLimits } from "./limits.ts";
export { DEFAULT_MAX_MESSAGE_SIZE, type Soma, SOMA_VERSION, type SomaOptions } from "./options.ts";
export { DEFAULT_LIMITS, LIMIT_VARIABLES, limitsFromEnv } from "./limits.ts";
export {
  isLoopback,
  loadOrCreateSomaToken,
  readSomaToken,
  somaTokenPath,
  UnsafeExposureError,
} from "./token.ts";
export { Platform } from "./platform.ts";
export { statusHandler } from "./http.ts";

/**
 * Starts soma.
 *
 * @example
 * ```ts ignore
 * const soma = await startSoma({ dataDir: await Deno.makeTempDir(), port: 0, httpPort: 0 });
 * console.log(soma.port, soma.httpPort);
 * await soma.close();
 * ```
 */
export async function startSoma(options: SomaOptions): Promise<Soma> {
  const settings = somaSettings(options);
  const stores = await openSomaStores(options, settings.onError);
  const soma = new SomaNode(options, settings, stores);
  try {
    await soma.listen();
  } catch (error) {
    await soma.close();
    throw error;
  }
  options.signal?.addEventListener("abort", () => void soma.close(), { once: true });
  return soma;
}
