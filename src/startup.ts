/**
 * Start-up failures the user can fix, said in one line: a port that is in use (naming the setting and the
 * port), a root key that does not fit the data folder. And a failed start leaves no new files behind: the SQLite
 * files it created are removed again, so the data folder looks as it did before.
 *
 * @module
 */
import { join } from "node:path";
import type { Config } from "./config.ts";
import { RootKeyMismatchError, RootKeyMissingError } from "./example/security/mod.ts";

/** A port setting and its value. */
interface PortSetting {
  readonly name: "PORT" | "GRPC_PORT" | "AXON_PORT" | "AXON_HTTP_PORT";
  readonly port: number;
  readonly hostname: string;
}

/** The fixed ports this configuration listens on (0 = ephemeral, never in use). */
function portSettings(config: Config): PortSetting[] {
  const settings: PortSetting[] = [];
  if (config.roles.has("api")) {
    settings.push({ name: "PORT", port: config.port, hostname: "0.0.0.0" });
    settings.push({ name: "GRPC_PORT", port: config.grpcPort, hostname: "0.0.0.0" });
  }
  if (config.roles.has("soma") || !config.axonServer) {
    settings.push({ name: "AXON_PORT", port: config.axonPort, hostname: config.axonHost });
    settings.push({ name: "AXON_HTTP_PORT", port: config.axonHttpPort, hostname: config.axonHost });
  }
  return settings.filter((setting) => setting.port !== 0);
}

/** Whether `error` says that an address is in use (Deno, node:net and grpc-js say it differently). */
export function isAddressInUse(error: unknown): boolean {
  if (error instanceof Deno.errors.AddrInUse) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /EADDRINUSE|address already in use/i.test(message);
}

/** Whether something listens on the port now (a probe after our own listeners are closed). */
function inUse(setting: PortSetting): boolean {
  try {
    Deno.listen({ port: setting.port, hostname: setting.hostname }).close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.AddrInUse;
  }
}

function portInUseMessage(error: unknown, config: Config): string {
  const settings = portSettings(config);
  const message = error instanceof Error ? error.message : String(error);
  const named = [...message.matchAll(/:(\d{1,5})\b/g)].map((match) => Number(match[1]));
  const setting = settings.find((candidate) => named.includes(candidate.port)) ??
    settings.find(inUse);
  if (!setting) return "A port is already in use (another program listens on it); choose free ports";
  return `Port ${setting.port} (${setting.name}) is already in use: another program listens on it. ` +
    `Stop that program or set ${setting.name} to a free port (0 picks one).`;
}

/**
 * The one-line explanation of a start-up failure the user can fix, or undefined for anything else (then the
 * caller logs the error with its stack).
 *
 * @example
 * ```ts ignore
 * const line = explainStartupError(error, config);
 * if (line) console.error(`Error: ${line}`);
 * ```
 */
export function explainStartupError(error: unknown, config: Config): string | undefined {
  if (error instanceof RootKeyMismatchError || error instanceof RootKeyMissingError) return error.message;
  if (isAddressInUse(error)) return portInUseMessage(error, config);
  return undefined;
}

const SQLITE_FILE = /\.sqlite(-wal|-shm|-journal)?$/;

async function sqliteFiles(dataDir: string): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const entry of Deno.readDir(dataDir)) {
      if (entry.isFile && SQLITE_FILE.test(entry.name)) names.add(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

/**
 * Notes the SQLite files in `dataDir` before start-up; `undo()` removes the ones created since (after a failed
 * start, when every store is closed) and returns their names. Keys under `secure/` stay: they belong to the folder.
 *
 * @example
 * ```ts ignore
 * const files = await noteDataFiles(config.dataDir);
 * try { await start(); } catch (error) { await files.undo(); throw error; }
 * ```
 */
export async function noteDataFiles(dataDir: string): Promise<{ undo(): Promise<string[]> }> {
  const before = await sqliteFiles(dataDir);
  return {
    async undo() {
      const created = [...await sqliteFiles(dataDir)].filter((name) => !before.has(name));
      for (const name of created) await Deno.remove(join(dataDir, name));
      return created;
    },
  };
}
