/**
 * A tiny structured logger: one JSON object per line, with a level threshold. Callers pass plain data; never
 * put secrets (tokens, passwords, keys) into a log record.
 *
 * @module
 */
import type { LogLevel } from "../config.ts";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A value a log record may carry. */
export type LogValue = string | number | boolean | null | undefined | readonly string[];

/** Fields of a log record. */
export type LogFields = Readonly<Record<string, LogValue>>;

/** Where records go; the default writes lines to stdout (debug, info) and stderr (warn, error). */
export type LogSink = (level: LogLevel, line: string) => void;

/** A levelled JSON-lines logger. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether records of `level` are written. */
  enabled(level: LogLevel): boolean;
}

const encoder = new TextEncoder();

const defaultSink: LogSink = (level, line) => {
  const out = ORDER[level] >= ORDER.warn ? Deno.stderr : Deno.stdout;
  let bytes = encoder.encode(line + "\n");
  while (bytes.length > 0) bytes = bytes.subarray(out.writeSync(bytes));
};

/**
 * Creates a logger writing records at `level` and above.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger("info", (_level, line) => lines.push(line));
 * log.info("started", { port: 8080 });
 * log.debug("not written");
 * console.log(lines.length); // 1
 * ```
 */
export function createLogger(level: LogLevel, sink: LogSink = defaultSink): Logger {
  return levelledLogger(level, (at, msg, fields) => {
    sink(at, JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...fields }));
  });
}

/**
 * A logger that hands each record of `level` and up to `record` as it is (the projection thread's worker sends them
 * to the main thread's logger).
 *
 * @example
 * ```ts
 * import { levelledLogger } from "./log.ts";
 * const records: string[] = [];
 * const log = levelledLogger("warn", (level, msg) => records.push(`${level} ${msg}`));
 * log.info("dropped");
 * log.error("kept");
 * console.log(records); // ["error kept"]
 * ```
 */
export function levelledLogger(
  level: LogLevel,
  record: (at: LogLevel, msg: string, fields?: LogFields) => void,
): Logger {
  const threshold = ORDER[level];
  const write = (at: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[at] >= threshold) record(at, msg, fields);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    enabled: (at) => ORDER[at] >= threshold,
  };
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = createLogger("error", () => {});

/** A short description of an error for the server log: name, message and stack. Never sent to clients. */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    return { error: `${error.name}: ${error.message}`, stack: error.stack };
  }
  return { error: String(error) };
}
