/**
 * The program's HTTP routes: the RPC services in three protocols (gRPC, grpc-web, Connect) through
 * `@connectrpc/connect-node`, `/healthz`, the UI, and answers for everything else that each protocol's clients
 * understand (unknown RPC → `Unimplemented`). Every request is logged as one JSON line.
 *
 * @module
 */
import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError, type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { peerAddressKey } from "../dendrite/security/mod.ts";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ACCEPT_COMPRESSION } from "./compression.ts";
import type { Metrics } from "../dendrite/observability/metrics.ts";
import { apiMetricsInterceptor, interceptEvery, type MetricsAccess, metricsRefusal } from "./metrics.ts";
import { withRequestParseErrors } from "./parse_errors.ts";
import type { NodeHandler } from "./listener.ts";
import type { Logger } from "./log.ts";
import { traceRequest } from "./tracing.ts";
import { tracing } from "../dendrite/observability/trace.ts";
import type { UiAssets } from "./ui.ts";

/** The largest request or response message, in bytes (bigger ones fail with `ResourceExhausted`). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Options of {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  /** Registers the RPC services. */
  readonly routes: (router: ConnectRouter) => void;
  readonly logger: Logger;
  /** The UI; without it `/` is 404. */
  readonly ui?: UiAssets;
  /** Default {@link MAX_MESSAGE_BYTES}. */
  readonly maxMessageBytes?: number;
  /** Whether `/healthz` reports healthy (false while shutting down). */
  readonly healthy?: () => boolean;
  /** Counts every RPC into `metrics` and serves them at `GET /metrics` to whom `access` admits. */
  readonly metrics?: { readonly metrics: Metrics; readonly access: MetricsAccess };
}

/**
 * JSON requests are strict: a body that is not UTF-8 or names a field the message does not have is refused with
 * `InvalidArgument` rather than repaired (U+FFFD) or ignored.
 */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const REQUEST_JSON = {
  ignoreUnknownFields: false,
  textDecoder: {
    decode(bytes: Uint8Array): string {
      try {
        return strictUtf8.decode(bytes);
      } catch {
        throw new ConnectError("the request body is not valid UTF-8", Code.InvalidArgument);
      }
    },
  },
};

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** The part of a node:http / node:http2 response the fallback routes use. */
interface NodeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(): unknown;
  end(data: string | Uint8Array): unknown;
}

function pathOf(url: string | undefined): string {
  return (url ?? "/").split("?", 1)[0];
}

function send(
  response: NodeResponse,
  status: number,
  headers: Record<string, string>,
  body?: Uint8Array | string,
) {
  response.statusCode = status;
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  if (body === undefined) response.end();
  else response.end(body);
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const UI_HEADERS = {
  ...SECURITY_HEADERS,
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "cache-control": "no-cache",
};

function serveAsset(
  ui: UiAssets | undefined,
  request: NodeRequest,
  response: NodeResponse,
  path: string,
): boolean {
  const asset = ui?.get(path === "/index.html" ? "/" : path);
  if (!asset) return false;
  if (request.headers["if-none-match"] === asset.etag) {
    send(response, 304, { ...UI_HEADERS, etag: asset.etag });
    return true;
  }
  const gzip = /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""));
  const body = gzip ? asset.gzip : asset.body;
  send(response, 200, {
    ...UI_HEADERS,
    "content-type": asset.contentType,
    "content-length": String(body.length),
    etag: asset.etag,
    vary: "accept-encoding",
    ...(gzip ? { "content-encoding": "gzip" } : {}),
  }, request.method === "HEAD" ? undefined : body);
  return true;
}

function serveMetrics(
  { metrics, access }: NonNullable<HttpHandlerOptions["metrics"]>,
  request: NodeRequest,
  response: NodeResponse,
): void {
  const text = {
    ...SECURITY_HEADERS,
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
  };
  const refused = metricsRefusal(access, request.headers.authorization, request.socket?.remoteAddress ?? "");
  if (refused) return send(response, refused.status, text, refused.message);
  metrics.render().then(
    (body) => send(response, 200, { ...text, "content-type": metrics.contentType }, body),
    (error) => send(response, 500, text, `Reading the metrics failed: ${error}\n`),
  );
}

/** Answers requests no RPC route matched, in the protocol the client speaks. */
function notFound(request: NodeRequest, response: NodeResponse, path: string): void {
  const contentType = String(request.headers["content-type"] ?? "").toLowerCase();
  const message = `Unknown procedure "${path}"`;
  if (request.method === "POST" && contentType.startsWith("application/grpc-web")) {
    // grpc-web "trailers-only": the status travels in the headers.
    send(response, 200, {
      "content-type": contentType.startsWith("application/grpc-web-text")
        ? "application/grpc-web-text+proto"
        : "application/grpc-web+proto",
      "grpc-status": "12",
      "grpc-message": encodeURIComponent(message),
    });
  } else if (request.method === "POST" && contentType.startsWith("application/grpc")) {
    send(response, 200, {
      "content-type": "application/grpc",
      "grpc-status": "12",
      "grpc-message": encodeURIComponent(message),
    });
  } else if (
    request.method === "POST" &&
    /^application\/(json|proto|connect\+)/.test(contentType)
  ) {
    send(
      response,
      404,
      { ...SECURITY_HEADERS, "content-type": "application/json" },
      JSON.stringify({ code: "unimplemented", message }),
    );
  } else {
    send(response, 404, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" }, "Not found\n");
  }
}

/**
 * Creates the request handler.
 *
 * @example
 * ```ts ignore
 * const handler = createHttpHandler({ routes: (router) => router.service(GreeterService, impl), logger });
 * ```
 */
export function createHttpHandler(options: HttpHandlerOptions): NodeHandler {
  const { logger, ui } = options;
  const healthy = options.healthy ?? (() => true);
  const maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const metered = options.metrics ? apiMetricsInterceptor(options.metrics.metrics) : undefined;

  const rpc = connectNodeAdapter({
    routes(router) {
      options.routes(metered ? interceptEvery(router, metered) : router);
      router.handlers.splice(0, router.handlers.length, ...router.handlers.map(withRequestParseErrors));
    },
    jsonOptions: REQUEST_JSON,
    // The client's address, for per-client limits (subscriptions, the login back-off).
    contextValues: (request) =>
      createContextValues().set(peerAddressKey, request.socket?.remoteAddress ?? ""),
    readMaxBytes: maxBytes,
    writeMaxBytes: maxBytes,
    acceptCompression: [...ACCEPT_COMPRESSION],
    fallback(request, response) {
      const path = pathOf(request.url);
      if (request.method === "GET" && path === "/metrics" && options.metrics) {
        serveMetrics(options.metrics, request, response);
        return;
      }
      if (request.method === "GET" || request.method === "HEAD") {
        if (path === "/healthz") {
          const ok = healthy();
          send(
            response,
            ok ? 200 : 503,
            { ...SECURITY_HEADERS, "content-type": "application/json", "cache-control": "no-store" },
            JSON.stringify({ status: ok ? "ok" : "shutting down" }),
          );
          return;
        }
        if (serveAsset(ui, request, response, path)) return;
      }
      notFound(request, response, path);
    },
  });

  return (request, response) => {
    const started = performance.now();
    const path = pathOf(request.url);
    let logged = false;
    let traceId: string | undefined;
    const log = () => {
      if (logged) return;
      logged = true;
      const fields = {
        method: request.method,
        path,
        status: response.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        http: request.httpVersion,
        aborted: !response.writableFinished || undefined,
        trace_id: traceId,
      };
      if (path === "/healthz") logger.debug("request", fields);
      else logger.info("request", fields);
    };
    response.once("finish", log);
    response.once("close", log);
    // Traced: the request runs in its span, whose trace id the log line names.
    if (tracing.enabled) traceId = traceRequest(request, response, path, () => rpc(request, response));
    else rpc(request, response);
  };
}
