/**
 * Starts the program's server and embedded application on a free port in a temporary data directory.
 *
 * @module
 */
import type { Synchronous } from "../../src/dendrite/mod.ts";
import { createEmbedded, type Embedded } from "../../src/example/wiring.ts";
import { exampleApi } from "../../src/example/api/mod.ts";
import { buildUi, createLogger, type Logger, type RunningServer, startServer } from "../../src/server/mod.ts";

/** A running test instance. */
export interface TestApp {
  readonly url: string;
  readonly port: number;
  /** `localhost:<port>` for grpc-js. */
  readonly address: string;
  readonly app: Embedded;
  readonly server: RunningServer;
  /** Lines the server logged at warn and error. */
  readonly problems: string[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Serve the bundled UI (default false: API tests do not need esbuild). */
  readonly ui?: boolean;
  readonly logger?: Logger;
  readonly shutdownDeadlineMs?: number;
  /** SQLite durability (default FULL). */
  readonly synchronous?: Synchronous;
}

/**
 * Starts an instance; close it in a `finally`.
 *
 * @example
 * ```ts ignore
 * const t = await startTestApp();
 * try { … } finally { await t.close(); }
 * ```
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await Deno.makeTempDir({ prefix: "dendrite-api-" });
  const problems: string[] = [];
  const logger = options.logger ?? createLogger("warn", (_level, line) => problems.push(line));
  const ui = options.ui ? await buildUi() : undefined;
  const app = await createEmbedded({ dataDir }, { synchronous: options.synchronous });
  let server: RunningServer;
  try {
    server = await startServer({
      port: 0,
      hostname: "127.0.0.1",
      logger,
      ui,
      api: exampleApi({ commandBus: app.ports.commandBus, queryBus: app.ports.queryBus, logger }),
      shutdownDeadlineMs: options.shutdownDeadlineMs,
    });
  } catch (error) {
    await app.close();
    await Deno.remove(dataDir, { recursive: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    address: `127.0.0.1:${server.port}`,
    app,
    server,
    problems,
    async close() {
      await server.shutdown();
      await app.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
