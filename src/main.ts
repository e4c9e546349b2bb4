/**
 * The program. `deno task start` runs every role in one process: soma (the embedded Axon-API server), the
 * greeter's command handlers and projection, and the API role (see `example/api_role.ts`: the security domain,
 * provisioned, and the HTTP server with the UI and the API behind the auth interceptor). `--role` picks roles for
 * a process of its own, and `AXON_SERVER` joins another soma or an Axon Server (see `example/wiring.ts`).
 *
 * Configuration comes from the environment and flags (`--help`); SIGINT or SIGTERM shuts down gracefully
 * (a second signal exits at once).
 *
 * @module
 */
import { setLogger as setGrpcLogger } from "@grpc/grpc-js";
import { type Config, ConfigError, describeConfig, HELP, parseConfig } from "./config.ts";
import { startProgram } from "./example/wiring.ts";
import { buildUi, createLogger, type Logger } from "./server/mod.ts";
import { errorFields } from "./server/log.ts";
import { explainStartupError, noteDataFiles } from "./startup.ts";

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
  const signals = nextShutdownSignal(logger);
  const starting = new AbortController();
  signals.signal.then(() => starting.abort(new DOMException("Shutdown requested", "AbortError")));
  const dataFiles = await noteDataFiles(config.dataDir);
  let started = false;
  try {
    const ui = config.roles.has("api") ? await buildUi() : undefined;
    const program = await startProgram(config, logger, {
      ui,
      signal: starting.signal,
      projectionThread: config.projectionThread,
    });
    started = true;
    try {
      const signal = await signals.signal;
      logger.info("shutting down", { signal });
    } finally {
      await program.stop();
    }
    logger.info("stopped");
    return 0;
  } catch (error) {
    if (!started) {
      await dataFiles.undo().catch((cleanup) =>
        logger.warn("could not remove the files of the failed start", errorFields(cleanup))
      );
    }
    if (starting.signal.aborted) {
      logger.info("stopped before start-up finished");
      return 0;
    }
    const explained = started ? undefined : explainStartupError(error, config);
    if (explained) console.error(`Error: ${explained}`);
    else logger.error("the program failed", errorFields(error));
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
  // grpc-js writes its own errors to the console; make them JSON records like the rest of the output.
  setGrpcLogger({
    error: (...args: unknown[]) => logger.warn("grpc-js", { detail: args.map(String).join(" ") }),
  });
  logger.info("configuration", describeConfig(config));
  return await run(config, logger);
}

if (import.meta.main) Deno.exitCode = await main();
