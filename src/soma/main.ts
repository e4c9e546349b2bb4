/**
 * Runs soma alone: `deno run -A src/soma/main.ts`.
 *
 * Environment: `AXON_PORT` (gRPC, default 8124), `AXON_HTTP_PORT` (status surface, default 8024), `AXON_HOST`
 * (default 127.0.0.1; 0.0.0.0 lets other machines join), `DATA_DIR` (default ./data), `AXON_TOKEN` (access token;
 * default: the one in `DATA_DIR/secure/soma-token`, generated on first start), `SOMA_SYNCHRONOUS` (FULL or
 * NORMAL), and the limits `SOMA_MAX_CONNECTIONS`, `SOMA_MAX_STREAMS`, `SOMA_HEADER_TIMEOUT_MS`,
 * `SOMA_IDLE_TIMEOUT_MS`, `SOMA_KEEPALIVE_TIME_MS`, `SOMA_KEEPALIVE_TIMEOUT_MS`. Prints one JSON line with the bound
 * ports on stdout, then serves until SIGINT or SIGTERM, and closes gracefully; a start-up failure is one line on
 * stderr and exit code 1.
 *
 * @module
 */
import { limitsFromEnv, loadOrCreateSomaToken, type Soma, startSoma } from "./mod.ts";

function port(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new Error(`${name}="${text}" is not a port`);
  }
  return value;
}

async function main(): Promise<number> {
  const controller = new AbortController();
  const synchronous = Deno.env.get("SOMA_SYNCHRONOUS") === "NORMAL" ? "NORMAL" : "FULL";
  const dataDir = Deno.env.get("DATA_DIR") || "./data";
  const windowSeconds = Number(Deno.env.get("IDEMPOTENCY_WINDOW_SECONDS") || "86400");
  let soma: Soma;
  try {
    soma = await startSoma({
      dataDir,
      host: Deno.env.get("AXON_HOST") || "127.0.0.1",
      port: port("AXON_PORT", 8124),
      httpPort: port("AXON_HTTP_PORT", 8024),
      accessToken: Deno.env.get("AXON_TOKEN") || await loadOrCreateSomaToken(dataDir),
      limits: limitsFromEnv(Deno.env.toObject()),
      synchronous,
      idempotencyWindowMs: Number.isFinite(windowSeconds) && windowSeconds > 0
        ? windowSeconds * 1000
        : undefined,
      signal: controller.signal,
    });
  } catch (error) {
    console.error(`soma: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  console.log(JSON.stringify({ soma: "listening", port: soma.port, httpPort: soma.httpPort }));
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await new Promise<void>((resolve) =>
    controller.signal.addEventListener("abort", () => resolve(), { once: true })
  );
  await soma.close();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  return 0;
}

if (import.meta.main) Deno.exitCode = await main();
