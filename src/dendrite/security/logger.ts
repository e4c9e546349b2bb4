/**
 * The logger the security code writes to. It is handed messages only, built from non-secret values: key ids,
 * identifiers, file paths; never passwords, private keys, tokens, nonces or hashes.
 *
 * @module
 */

/**
 * Where security messages go.
 *
 * @example
 * ```ts
 * import type { SecurityLogger } from "./mod.ts";
 * // Structured JSON lines instead of the console prefix:
 * const jsonLogger: SecurityLogger = {
 *   info: (message) => console.log(JSON.stringify({ level: "info", message })),
 *   warn: (message, fields) => console.log(JSON.stringify({ level: "warn", message, ...fields })),
 * };
 * jsonLogger.warn("Login refused", { subject: "alice" });
 * ```
 */
export interface SecurityLogger {
  /** Logs an event worth knowing about. */
  info(message: string): void;
  /** `fields` are structured context (never a secret), for loggers that keep them apart from the message. */
  warn(message: string, fields?: Readonly<Record<string, string | number>>): void;
}

/**
 * Logs to the console with a `[security]` prefix.
 *
 * @example
 * ```ts
 * import { consoleSecurityLogger } from "./logger.ts";
 * consoleSecurityLogger.warn("Login refused", { subject: "alice" });
 * ```
 */
export const consoleSecurityLogger: SecurityLogger = {
  info: (message) => console.info(`[security] ${message}`),
  warn: (message, fields) =>
    console.warn(`[security] ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`),
};
