/**
 * Command-line flags: `--name=value` or `--name value`, the last one of a name wins; `-h`/`--help`.
 *
 * @module
 */
import { ConfigError } from "./types.ts";

/** A flag name (without `--`). */
export type Flag = "role" | "port" | "grpc-port" | "data-dir" | "log-level";
const FLAGS: readonly Flag[] = ["role", "port", "grpc-port", "data-dir", "log-level"];

function isFlag(name: string): name is Flag {
  return (FLAGS as readonly string[]).includes(name);
}

/** Splits `args` into `--help` and the values given per flag; an unknown or malformed flag is a {@link ConfigError}. */
export function parseFlags(args: readonly string[]): { help: boolean; values: Map<Flag, string[]> } {
  const values = new Map<Flag, string[]>();
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new ConfigError(arg, `Unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!isFlag(name)) throw new ConfigError(`--${name}`, `Unknown option "--${name}" (see --help)`);
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("-")) {
        throw new ConfigError(`--${name}`, `Option "--${name}" needs a value`);
      }
      value = next;
      i++;
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return { help, values };
}
