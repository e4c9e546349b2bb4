/**
 * The program's HTTP routes: the RPC services in three protocols (gRPC, grpc-web, Connect) through
 * `@connectrpc/connect-node`, `/healthz`, the UI, and answers for everything else that each protocol's clients
 * understand (unknown RPC → `Unimplemented`). Every request is logged as one JSON line.
 *
 * @module
 */
import { createContextValues } from "@connectrpc/connect";
import { peerAddressKey } from "../dendrite/security/mod.ts";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type Answer, notFoundAnswer, staticAnswer } from "./answers.ts";
import type { NodeHandler } from "./listener.ts";
import { errorFields, type Logger } from "./log.ts";
import { createGrpcFastUnary } from "./grpc_unary.ts";
import { observeRequest } from "./request_log.ts";
import { traceRequest } from "./tracing.ts";
import { tracing } from "../dendrite/observability/trace.ts";
import { installRoutes, MAX_MESSAGE_BYTES, routerOptions } from "./rpc_router.ts";
import type { Routes } from "./routes.ts";
import type { UiAssets } from "./ui.ts";

/** Options of {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  /** The RPC services (gRPC reflection is added for them). */
  readonly routes: Routes;
  readonly logger: Logger;
  /** The UI; without it `/` is 404. */
  readonly ui?: UiAssets;
  /** Default {@link MAX_MESSAGE_BYTES}. */
  readonly maxMessageBytes?: number;
  /** Whether `/healthz` reports healthy (false while shutting down). */
  readonly healthy?: () => boolean;
}

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

function send(response: NodeResponse, answer: Answer) {
  response.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
  if (answer.body === undefined) response.end();
  else response.end(answer.body);
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

  const rpc = connectNodeAdapter({
    routes: (router) => installRoutes(router, options.routes),
    ...routerOptions(maxBytes),
    // The client's address, for per-client limits (subscriptions, the login back-off).
    contextValues: (request) =>
      createContextValues().set(peerAddressKey, request.socket?.remoteAddress ?? ""),
    fallback(request, response) {
      const path = pathOf(request.url);
      const method = request.method ?? "GET";
      const header = (name: string) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value.join(", ") : value;
      };
      send(response, staticAnswer(ui, healthy, method, path, header) ?? notFoundAnswer(method, path, header));
    },
  });

  // Unary gRPC calls without compression or deadline skip connect-node (grpc_unary.ts).
  const grpcFast = createGrpcFastUnary(
    options.routes.unary(),
    maxBytes,
    (error) => logger.error("gRPC answer failed", errorFields(error)),
  );

  return (request, response) => {
    const path = pathOf(request.url);
    const serve = (traceId?: string) => {
      const end = observeRequest(logger, {
        method: request.method ?? "",
        path,
        http: request.httpVersion,
        traceId,
      });
      const log = () => end({ status: response.statusCode, aborted: !response.writableFinished });
      response.once("finish", log);
      response.once("close", log);
      if (!grpcFast(request, response)) rpc(request, response);
    };
    // Traced: the request runs in its span, whose trace id the log line names.
    if (tracing.enabled) traceRequest(request, response, path, serve);
    else serve();
  };
}
