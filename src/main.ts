/**
 * The program. `deno task start` runs every role in one process: the greeter's command handlers and projection
 * on the embedded ports (see `example/wiring.ts`), and the API role on the same ports (see `example/api_role.ts`:
 * the security domain, provisioned, and the HTTP server with the UI and the API behind the auth interceptor).
 *
 * Configuration comes from the environment and flags (`--help`); SIGINT or SIGTERM shuts down gracefully
 * (a second signal exits at once).
 *
 * @module
 */
import { type Config, ConfigError, describeConfig, HELP, parseConfig, ROLES } from "./config.ts";
import { startApi } from "./example/api_role.ts";
import { createEmbedded } from "./example/wiring.ts";
import { buildUi, createLogger, type Logger } from "./server/mod.ts";
import { errorFields } from "./server/log.ts";

function shutdownSignals(): Deno.Signal[] {
  return Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
}

/** Resolves at the first shutdown signal; a second one exits immediately. */
function nextShutdownSignal(logger: Logger): { signal: Promise<Deno.Signal>; dispose(): void } {
  const listeners: [Deno.Signal, () => void][] = [];
  let received: Deno.Signal | undefined;
  const signal = new Promise<Deno.Signal>((resolve) => {
    for (const name of shutdownSignals()) {
      const listener = () => {
        if (received) {
          logger.warn("second signal: exiting now", { signal: name });
          Deno.exit(130);
        }
        received = name;
        resolve(name);
      };
      Deno.addSignalListener(name, listener);
      listeners.push([name, listener]);
    }
  });
  return {
    signal,
    dispose: () => listeners.forEach(([name, listener]) => Deno.removeSignalListener(name, listener)),
  };
}

async function run(config: Config, logger: Logger): Promise<number> {
  if (ROLES.some((role) => !config.roles.has(role))) {
    logger.error("only --role=all is available so far", { roles: [...config.roles] });
    return 2;
  }
  const signals = nextShutdownSignal(logger);
  try {
    const ui = await buildUi();
    const app = await createEmbedded(config, {
      onProcessorError: (error, where) =>
        logger.warn("processor error (retrying)", { ...where, ...errorFields(error) }),
    });
    try {
      const api = await startApi(app.ports, config, logger, { ui });
      logger.info("listening", { url: api.server.url, port: api.server.port });
      const signal = await signals.signal;
      logger.info("shutting down", { signal });
      await api.stop();
    } finally {
      await app.close();
    }
    logger.info("stopped");
    return 0;
  } catch (error) {
    logger.error("the program failed", errorFields(error));
    return 1;
  } finally {
    signals.dispose();
  }
}

async function main(): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(Deno.args, Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Error: ${error.message}`);
    return 2;
  }
  if (config.help) {
    console.log(HELP);
    return 0;
  }
  const logger = createLogger(config.logLevel);
  logger.info("configuration", describeConfig(config));
  return await run(config, logger);
}

if (import.meta.main) Deno.exitCode = await main();
