/**
 * The API's metrics: every RPC in any of the three protocols counted and timed by method and status
 * (`dendrite_api_requests_total`, `dendrite_api_request_duration_seconds`) by one Connect interceptor in front of
 * all services, and `GET /metrics` in the Prometheus text format. Requests refused before they reach a method
 * (an unknown path, a body that does not decode) are not counted by method.
 *
 * Who may read `/metrics`: with a metrics token configured (`METRICS_TOKEN`), a request carrying it as
 * `Authorization: Bearer …`; without one, clients on the loopback interface only.
 *
 * @module
 */
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { Metrics } from "../dendrite/observability/metrics.ts";

/** The status label of an RPC: `ok`, or the Connect code in snake case (`invalid_argument`, `unavailable`…). */
export function statusLabel(error: unknown): string {
  if (error === undefined) return "ok";
  const code = error instanceof ConnectError ? error.code : Code.Unknown;
  return Code[code].replace(/[A-Z]/g, (c, i) => (i === 0 ? "" : "_") + c.toLowerCase());
}

/**
 * An interceptor counting and timing every call. A streaming response is timed until its last message (or its
 * error), so a long-lived subscription shows its whole life.
 *
 * @example
 * ```ts ignore
 * connectNodeAdapter({ routes, interceptors: [apiMetricsInterceptor(metrics)] });
 * ```
 */
export function apiMetricsInterceptor(metrics: Metrics): Interceptor {
  const labels = ["method", "status"] as const;
  const requests = metrics.counter({
    name: "dendrite_api_requests_total",
    help: "API calls (gRPC, grpc-web and Connect), by method and final status.",
    labels,
  });
  const duration = metrics.histogram({
    name: "dendrite_api_request_duration_seconds",
    help: "API calls: time from the request to the final status, in seconds (streams: to their end).",
    labels,
  });
  return (next) => async (request) => {
    const method = `${request.service.typeName}/${request.method.name}`;
    const started = performance.now();
    const done = (error?: unknown) => {
      const series = { method, status: statusLabel(error) };
      requests.inc(series);
      duration.observe(series, (performance.now() - started) / 1000);
    };
    let response;
    try {
      response = await next(request);
    } catch (error) {
      done(error);
      throw error;
    }
    if (!response.stream) {
      done();
      return response;
    }
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        let failure: unknown;
        try {
          yield* messages;
        } catch (error) {
          failure = error;
          throw error;
        } finally {
          done(failure);
        }
      })(),
    };
  };
}

/**
 * The router, putting `interceptor` in front of every service and RPC registered through it. (A router-wide
 * interceptor of connect-es is replaced, not extended, by a service's own `interceptors`.)
 */
export function interceptEvery(router: ConnectRouter, interceptor: Interceptor): ConnectRouter {
  const wrapper: ConnectRouter = {
    get handlers() {
      return router.handlers;
    },
    service(service, implementation, options) {
      router.service(service, implementation, {
        ...options,
        interceptors: [interceptor, ...(options?.interceptors ?? [])],
      });
      return wrapper;
    },
    rpc(method, implementation, options) {
      router.rpc(method, implementation, {
        ...options,
        interceptors: [interceptor, ...(options?.interceptors ?? [])],
      });
      return wrapper;
    },
  };
  return wrapper;
}

/** Who may read `/metrics` on the API port. */
export interface MetricsAccess {
  /** Required as `Authorization: Bearer <token>` when set; unset: loopback clients only. */
  readonly token?: string;
}

function isLoopbackAddress(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i];
  return difference === 0;
}

/** The refusal of a `/metrics` request, or undefined when it may read. */
export function metricsRefusal(
  access: MetricsAccess,
  authorization: string | undefined,
  remoteAddress: string,
): { status: number; message: string } | undefined {
  if (access.token === undefined) {
    return isLoopbackAddress(remoteAddress)
      ? undefined
      : { status: 403, message: "/metrics is served to loopback clients only unless METRICS_TOKEN is set\n" };
  }
  const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  if (given === undefined) {
    return { status: 401, message: "/metrics needs Authorization: Bearer METRICS_TOKEN\n" };
  }
  return sameSecret(given, access.token) ? undefined : { status: 403, message: "Invalid metrics token\n" };
}
