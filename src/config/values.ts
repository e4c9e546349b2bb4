/**
 * Parsers of single settings (ports, roles, log levels, URLs, whole numbers): each takes the setting's name and its
 * text and throws a {@link ConfigError} naming the setting when the text cannot be used.
 *
 * @module
 */
import { LimitSettingError, limitsFromEnv, type SomaLimits } from "../soma/limits.ts";
import { ConfigError, LOG_LEVELS, type LogLevel, type Role, ROLES } from "./types.ts";

/** A TCP port, 0 to 65535 (0: the system picks one). */
export function parsePort(setting: string, text: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(setting, `${setting} must be a port number from 0 to 65535, got "${text}"`);
  }
  return port;
}

/** Comma-separated role lists; `all` means every role. */
export function parseRoles(setting: string, lists: readonly string[]): ReadonlySet<Role> {
  const roles = new Set<Role>();
  for (const list of lists) {
    for (const raw of list.split(",")) {
      const name = raw.trim();
      if (name === "all") {
        for (const role of ROLES) roles.add(role);
      } else if ((ROLES as readonly string[]).includes(name)) {
        roles.add(name as Role);
      } else {
        throw new ConfigError(
          setting,
          `Unknown role "${name}"; use soma, command, projection, api or all (comma-separated)`,
        );
      }
    }
  }
  return roles;
}

/** `debug`, `info`, `warn` or `error`, in any case. */
export function parseLogLevel(setting: string, text: string): LogLevel {
  const level = text.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(setting, `${setting} must be debug, info, warn or error, got "${text}"`);
  }
  return level as LogLevel;
}

/** `host:port` (a name, an IPv4 address or a bracketed IPv6 address); returned trimmed. */
export function parseHostPort(setting: string, text: string): string {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!match) throw new ConfigError(setting, `${setting} must be host:port, got "${text}"`);
  parsePort(setting, match[2]);
  return text.trim();
}

/** An `http:` or `https:` URL. */
export function parseHttpUrl(setting: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(setting, `${setting} must be an http(s) URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(setting, `${setting} must be an http(s) URL, got scheme "${url.protocol}"`);
  }
  return url;
}

/** soma's connection limits from `SOMA_*` variables (see `src/soma/limits.ts`). */
export function parseSomaLimits(env: Readonly<Record<string, string | undefined>>): SomaLimits {
  try {
    return limitsFromEnv(env);
  } catch (error) {
    if (error instanceof LimitSettingError) throw new ConfigError(error.setting, error.message);
    throw error;
  }
}

/** An optional positive whole number from the environment: undefined when unset. */
export function optionalPositiveInt(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): number | undefined {
  const text = nonEmpty(env[name]);
  return text === undefined ? undefined : parsePositiveInt(name, text);
}

/** A whole number above 0. */
export function parsePositiveInt(setting: string, text: string): number {
  const value = /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(setting, `${setting} must be a whole number above 0, got "${text}"`);
  }
  return value;
}

/** An optional whole number above 0: undefined when unset. */
export function parseLimit(setting: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : parsePositiveInt(setting, text);
}

/** `true`/`false` (also 1/0, yes/no, on/off, any case). */
export function parseBoolean(setting: string, text: string): boolean {
  const value = text.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new ConfigError(setting, `${setting} must be true or false, got "${text}"`);
}

/** The trimmed value, or undefined when unset or blank. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** Whole seconds ≥ 1, returned in milliseconds. */
export function parseSeconds(setting: string, value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(seconds * 1000) || seconds < 1) {
    throw new ConfigError(setting, `${setting} must be a whole number of seconds ≥ 1, got "${value}"`);
  }
  return seconds * 1000;
}
