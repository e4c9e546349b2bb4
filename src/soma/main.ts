/**
 * Runs soma alone: `deno run -A src/soma/main.ts`.
 *
 * Environment: `AXON_PORT` (gRPC, default 8124), `AXON_HTTP_PORT` (status surface, default 8024), `AXON_HOST`
 * (default 0.0.0.0 so other processes and machines can join), `DATA_DIR` (default ./data), `AXON_TOKEN` (optional
 * access token), `SOMA_SYNCHRONOUS` (FULL or NORMAL). Prints one JSON line with the bound ports on stdout, then
 * serves until SIGINT or SIGTERM, and closes gracefully.
 *
 * @module
 */
import { startSoma } from "./mod.ts";

function port(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new Error(`${name}="${text}" is not a port`);
  }
  return value;
}

if (import.meta.main) {
  const controller = new AbortController();
  const synchronous = Deno.env.get("SOMA_SYNCHRONOUS") === "NORMAL" ? "NORMAL" : "FULL";
  const soma = await startSoma({
    dataDir: Deno.env.get("DATA_DIR") ?? "./data",
    host: Deno.env.get("AXON_HOST") ?? "0.0.0.0",
    port: port("AXON_PORT", 8124),
    httpPort: port("AXON_HTTP_PORT", 8024),
    accessToken: Deno.env.get("AXON_TOKEN") || undefined,
    synchronous,
    signal: controller.signal,
  });
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
}
