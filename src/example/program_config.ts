/**
 * What the program's composition root (`wiring.ts`) reads from the configuration: its own module, so the
 * projection thread (`projection_thread.ts`) can name it without importing the root.
 *
 * @module
 */
import type { Config } from "../config.ts";

/** What `startProgram` (`wiring.ts`) reads from the configuration. */
export type ProgramConfig =
  & Pick<
    Config,
    | "roles"
    | "port"
    | "dataDir"
    | "axonHost"
    | "somaLimits"
    | "axonPort"
    | "axonHttpPort"
    | "axonServer"
    | "axonToken"
    | "axonTlsCaFile"
    | "elasticsearchUrl"
    | "elasticsearchIndexPrefix"
    | "tls"
    | "rootKeyModule"
  >
  & Partial<Pick<Config, "metricsToken">>
  & Partial<
    Pick<Config, "processorOwner" | "processorClaimTimeoutMs" | "subscriptions" | "idempotencyWindowMs">
  >
  & Partial<Pick<Config, "processorMaxAttempts" | "elasticsearchRequestTimeoutMs">>;
