/**
 * The logger the security code writes to. It is handed messages only, built from non-secret values: key ids,
 * identifiers, file paths; never passwords, private keys, tokens, nonces or hashes.
 *
 * @module
 */

/** Where security messages go. */
export interface SecurityLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Logs to the console with a `[security]` prefix. */
export const consoleSecurityLogger: SecurityLogger = {
  info: (message) => console.info(`[security] ${message}`),
  warn: (message) => console.warn(`[security] ${message}`),
};
