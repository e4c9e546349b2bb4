/**
 * Connection limits and timeouts of soma's listeners, so slow or idle clients cannot hold descriptors forever:
 * a cap on connections per listener, on concurrent streams per HTTP/2 connection, a header read timeout for
 * HTTP/1.1 (and the TLS handshake), and an idle timeout for connections without an open stream. Axon clients keep
 * their platform stream open and so are never idle; a channel without streams reconnects on its next call.
 *
 * @module
 */

/** Limits of soma's gRPC and status listeners (each listener has its own connection cap). */
export interface SomaLimits {
  /** Open connections per listener; further ones are closed at once (default 500). */
  readonly maxConnections?: number;
  /** Concurrent streams per HTTP/2 connection (default 1 000). */
  readonly maxConcurrentStreams?: number;
  /** An HTTP/1.1 request's header block, and a TLS handshake, must arrive within this (default 10 000 ms). */
  readonly headerTimeoutMs?: number;
  /** A connection without an open stream (gRPC) or without traffic (status port) is closed after this (60 000 ms). */
  readonly idleTimeoutMs?: number;
  /** gRPC keepalive: ping a connection this often (default 10 000 ms)… */
  readonly keepaliveTimeMs?: number;
  /** …and close it when the ping is not answered within this (default 5 000 ms). */
  readonly keepaliveTimeoutMs?: number;
}

/** The defaults of {@link SomaLimits}. */
export const DEFAULT_LIMITS: Required<SomaLimits> = {
  maxConnections: 500,
  maxConcurrentStreams: 1_000,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 5_000,
};

/** The environment variable of each limit (documented in docs/soma.md and the program's --help). */
export const LIMIT_VARIABLES: Readonly<Record<keyof SomaLimits, string>> = {
  maxConnections: "SOMA_MAX_CONNECTIONS",
  maxConcurrentStreams: "SOMA_MAX_STREAMS",
  headerTimeoutMs: "SOMA_HEADER_TIMEOUT_MS",
  idleTimeoutMs: "SOMA_IDLE_TIMEOUT_MS",
  keepaliveTimeMs: "SOMA_KEEPALIVE_TIME_MS",
  keepaliveTimeoutMs: "SOMA_KEEPALIVE_TIMEOUT_MS",
};

/** A limit variable that is not a positive integer. */
export class LimitSettingError extends Error {
  readonly setting: string;
  constructor(setting: string, text: string) {
    super(`${setting} must be a positive integer, got "${text}"`);
    this.name = "LimitSettingError";
    this.setting = setting;
  }
}

/**
 * Reads the limits set in the environment (unset variables keep their defaults).
 *
 * @throws {LimitSettingError} naming the variable when a value is not a positive integer.
 * @example
 * ```ts
 * import { limitsFromEnv } from "./limits.ts";
 * console.log(limitsFromEnv({ SOMA_MAX_CONNECTIONS: "100" })); // { maxConnections: 100 }
 * ```
 */
export function limitsFromEnv(env: Readonly<Record<string, string | undefined>>): SomaLimits {
  const limits: Partial<Record<keyof SomaLimits, number>> = {};
  for (const [key, name] of Object.entries(LIMIT_VARIABLES) as [keyof SomaLimits, string][]) {
    const text = env[name]?.trim();
    if (text === undefined || text === "") continue;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value <= 0) throw new LimitSettingError(name, text);
    limits[key] = value;
  }
  return limits;
}

/** The limits with defaults filled in. */
export function resolveLimits(limits: SomaLimits = {}): Required<SomaLimits> {
  const out = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(limits) as [keyof SomaLimits, number | undefined][]) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** grpc-js server options for the limits. */
export function grpcLimitOptions(limits: Required<SomaLimits>): Record<string, number> {
  return {
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    // grpc-js counts a connection as idle only while it has no open stream: Axon clients' streams keep theirs.
    "grpc.max_connection_idle_ms": limits.idleTimeoutMs,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.keepalive_time_ms": limits.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": limits.keepaliveTimeoutMs,
  };
}
