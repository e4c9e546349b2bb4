/**
 * The one place every HTTP request of the server is seen from start to end — on the front door (fast path and
 * connect-es alike) and on the gRPC port: it writes the request log line. Per-request hooks (metrics, spans)
 * belong here, so they see every path.
 *
 * @module
 */
import type { Logger } from "./log.ts";

/** What is known about a request when it starts. */
export interface RequestStart {
  readonly method: string;
  /** The URL path, without the query. */
  readonly path: string;
  /** `1.1` or `2.0`, when the server tells (`Deno.serve` does not). */
  readonly http?: string;
  /** The trace id of the request's span, when tracing is on (named in the log line). */
  readonly traceId?: string;
}

/** How a request ended. */
export interface RequestEnd {
  /** The HTTP status sent (0 when none was). */
  readonly status: number;
  /** Whether the answer was cut short (client gone, connection closed). */
  readonly aborted: boolean;
}

/** Call once when the request has ended (later calls do nothing). */
export type EndRequest = (end: RequestEnd) => void;

/**
 * Starts observing a request; the returned function records its end.
 *
 * @example
 * ```ts
 * import { silentLogger } from "./log.ts";
 * import { observeRequest } from "./request_log.ts";
 * const end = observeRequest(silentLogger, { method: "GET", path: "/healthz", http: "1.1" });
 * end({ status: 200, aborted: false });
 * ```
 */
export function observeRequest(logger: Logger, start: RequestStart): EndRequest {
  const started = performance.now();
  let ended = false;
  return ({ status, aborted }) => {
    if (ended) return;
    ended = true;
    const level = start.path === "/healthz" ? "debug" : "info";
    if (!logger.enabled(level)) return;
    logger[level]("request", {
      method: start.method,
      path: start.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      http: start.http,
      aborted: aborted || undefined,
      trace_id: start.traceId,
    });
  };
}
