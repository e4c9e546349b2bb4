/**
 * The API call's span: one server span per request, continuing the caller's `traceparent` header (W3C trace
 * context), active while the RPC runs, so the commands and queries it sends join the caller's trace. Only used
 * when tracing is on (`tracing.enabled`).
 *
 * Deno's own instrumentation of `node:http`/`node:http2` also makes a span per request, but does not make it
 * active for the handler; this span is the one the application's spans hang under.
 *
 * @module
 */
import type http from "node:http";
import type http2 from "node:http2";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { tracer } from "../dendrite/observability/trace.ts";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

const RPC_PATH = /^\/([A-Za-z_][\w.]*)\/([A-Za-z_]\w*)$/;

const headerGetter = {
  keys: (carrier: NodeRequest["headers"]) => Object.keys(carrier),
  get: (carrier: NodeRequest["headers"], key: string) => carrier[key],
};

/** The protocol of an RPC request, from its content type. */
function rpcSystem(contentType: string): string {
  if (contentType.startsWith("application/grpc-web")) return "grpc_web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect_rpc";
}

/**
 * Runs `serve` inside the request's server span; the span ends when the response finishes or the connection
 * closes. Named after the RPC (`example.v1.GreeterService/Greet`) or, for other paths, the HTTP method. Returns
 * the span's trace id.
 */
export function traceRequest(
  request: NodeRequest,
  response: NodeResponse,
  path: string,
  serve: (traceId: string) => void,
): void {
  const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
  const rpc = request.method === "POST" ? RPC_PATH.exec(path) : null;
  const span = tracer.startSpan(rpc ? `${rpc[1]}/${rpc[2]}` : `HTTP ${request.method}`, {
    kind: SpanKind.SERVER,
    attributes: {
      "http.request.method": request.method ?? "",
      "url.path": path,
      "network.protocol.version": request.httpVersion,
      ...(rpc
        ? {
          "rpc.system": rpcSystem(String(request.headers["content-type"] ?? "")),
          "rpc.service": rpc[1],
          "rpc.method": rpc[2],
        }
        : {}),
    },
  }, parent);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    span.setAttribute("http.response.status_code", response.statusCode);
    if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  response.once("finish", end);
  response.once("close", end);
  context.with(trace.setSpan(parent, span), () => serve(span.spanContext().traceId));
}

const fetchHeaderGetter = {
  keys: (carrier: Headers) => [...carrier.keys()],
  get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
};

/**
 * The same server span for a request of the front door (`Deno.serve`): `serve` runs inside it and gets its
 * trace id; the span ends when the response is handed back (a stream's span covers its start, not its life).
 */
export async function traceFetchRequest(
  request: Request,
  path: string,
  serve: (traceId: string) => Promise<Response>,
): Promise<Response> {
  const parent = propagation.extract(ROOT_CONTEXT, request.headers, fetchHeaderGetter);
  const rpc = request.method === "POST" ? RPC_PATH.exec(path) : null;
  const span = tracer.startSpan(rpc ? `${rpc[1]}/${rpc[2]}` : `HTTP ${request.method}`, {
    kind: SpanKind.SERVER,
    attributes: {
      "http.request.method": request.method,
      "url.path": path,
      ...(rpc
        ? {
          "rpc.system": rpcSystem(request.headers.get("content-type") ?? ""),
          "rpc.service": rpc[1],
          "rpc.method": rpc[2],
        }
        : {}),
    },
  }, parent);
  try {
    const response = await context.with(trace.setSpan(parent, span), () => serve(span.spanContext().traceId));
    span.setAttribute("http.response.status_code", response.status);
    if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    return response;
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
    throw error;
  } finally {
    span.end();
  }
}
