/**
 * The front door: `Deno.serve` (HTTP/1.1, cleartext HTTP/2 with prior knowledge, TLS with ALPN `h2`) for the
 * browser's protocols — Connect and grpc-web — plus `/healthz` and the UI. Unary calls that fit take the fast path
 * (`fast_unary.ts`); everything else goes through connect-es's universal handlers on the same server. gRPC needs
 * HTTP/2 trailers, which `Deno.serve` cannot send: a gRPC call here is told to use the gRPC port.
 *
 * @module
 */
import { Code, createConnectRouter } from "@connectrpc/connect";
import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
  universalServerResponseToFetch,
} from "@connectrpc/connect/protocol";
import { lazyPeerValues } from "./peer_values.ts";
import { type Answer, grpcStatusAnswer, notFoundAnswer, SECURITY_HEADERS, staticAnswer } from "./answers.ts";
import { bodyInit, createFastUnary, type FastUnary } from "./fast_unary.ts";
import { errorFields, type Logger } from "./log.ts";
import { OpenRequests } from "./open_requests.ts";
import { type EndRequest, observeRequest } from "./request_log.ts";
import { installRoutes, routerOptions } from "./rpc_router.ts";
import type { Routes } from "./routes.ts";
import type { UiAssets } from "./ui.ts";
import type { Metrics } from "../dendrite/observability/metrics.ts";
import { type MetricsAccess, metricsRefusal } from "./metrics.ts";
import { traceFetchRequest } from "./tracing.ts";
import { tracing } from "../dendrite/observability/trace.ts";

/** Options of {@link openFrontDoor}. */
export interface FrontDoorOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly hostname?: string;
  /** PEM certificate chain and key. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly routes: Routes;
  readonly logger: Logger;
  readonly ui?: UiAssets;
  readonly maxMessageBytes: number;
  /** Whether `/healthz` reports healthy. */
  readonly healthy: () => boolean;
  /** Aborts when the server shuts down (ends live streams). */
  readonly shutdown: AbortSignal;
  /** Serves `GET /metrics` from `metrics` to whom `access` admits. */
  readonly metrics?: { readonly metrics: Metrics; readonly access: MetricsAccess };
}

/** The running front door. */
export interface FrontDoor {
  readonly port: number;
  /**
   * Waits for unfinished requests (streams included), at most `deadlineMs`, then closes every connection: a
   * client that stopped reading or sending cannot hold the process.
   */
  close(deadlineMs: number): Promise<void>;
}

/** Where gRPC clients are sent. */
const GRPC_ELSEWHERE = "gRPC (HTTP/2 with trailers) is served on the gRPC port (GRPC_PORT), not on this one";

function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

function toResponse(answer: Answer): Response {
  const body = answer.body;
  return new Response(body === undefined ? null : typeof body === "string" ? body : bodyInit(body), {
    status: answer.status,
    headers: answer.headers,
  });
}

/**
 * The call's abort signal: aborted when the answer cannot be delivered — `info.completed` rejects, or the client
 * cancels a streamed body (Deno resolves `completed` when a client leaves an idle stream, and cancels the body).
 * `request.signal` would do, but Deno 2.9 also aborts it after every successful answer and warns about that (once,
 * on stderr).
 */
class CallSignal {
  readonly #controller = new AbortController();

  /** The call counts as open in `open` until Deno has sent (or given up on) its whole answer. */
  constructor(info: Deno.ServeHandlerInfo, open: OpenRequests) {
    const leave = open.enter();
    info.completed.then(leave, (error) => {
      leave();
      this.abort(error);
    });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }
}

/** The chunks of a request body. */
async function* chunksOf(body: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * A streamed body as a ReadableStream that reports its end (or that it was cut short) to the request log. When
 * the client goes away, Deno cancels the stream: the call is aborted first, so a live stream waiting for its next
 * message ends now (an async iterator's `return()` would wait behind that pending message).
 */
function observed(
  body: AsyncIterable<Uint8Array>,
  end: EndRequest,
  status: number,
  call: CallSignal,
): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          end({ status, aborted: false });
          controller.close();
        } else controller.enqueue(next.value);
      } catch (error) {
        end({ status, aborted: true });
        controller.error(error);
      }
    },
    cancel(reason) {
      end({ status, aborted: true });
      call.abort(reason ?? new DOMException("The client went away", "AbortError"));
      void chunks.return?.().catch(() => {});
    },
  });
}

/** What a call answered by connect-es's generic handler gives: a fixed answer, or connect-es's response. */
type GenericResult =
  | { readonly answer: Answer; readonly response?: undefined }
  | { readonly answer?: undefined; readonly response: UniversalServerResponse };

/** A request the front door is answering: what every step of it needs. */
interface Call {
  readonly request: Request;
  readonly path: string;
  /** The caller's address, read when first asked for. */
  readonly peer: () => string;
  readonly end: EndRequest;
  /** The call's abort signal, made when first asked for. */
  readonly callSignal: () => CallSignal;
}

/** Answers the front door's requests: `/metrics`, static answers, then RPCs (fast path first). */
class FrontDoorHandler {
  readonly #options: FrontDoorOptions;
  readonly #handlers: ReadonlyMap<string, UniversalHandler>;
  readonly #fast: FastUnary;
  /** Handlers still running, and calls with a signal (every stream) until their answer was sent. */
  readonly open = new OpenRequests();

  constructor(options: FrontDoorOptions) {
    this.#options = options;
    const router = createConnectRouter(routerOptions(options.maxMessageBytes, options.shutdown));
    installRoutes(router, options.routes);
    this.#handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
    this.#fast = createFastUnary(options.routes.unary(), options.maxMessageBytes);
  }

  serve(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const path = pathOf(request.url);
    const leave = this.open.enter();
    // Traced: the request runs in its span, whose trace id the log line names.
    const answer = tracing.enabled
      ? traceFetchRequest(request, path, (traceId) => this.#respond(request, info, path, traceId))
      : this.#respond(request, info, path);
    answer.then(leave, leave);
    return answer;
  }

  async #respond(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    path: string,
    traceId?: string,
  ): Promise<Response> {
    const { metrics, ui, healthy } = this.#options;
    const end = observeRequest(this.#options.logger, { method: request.method, path, traceId });
    const header = (name: string) => request.headers.get(name) ?? undefined;
    if (metrics && request.method === "GET" && path === "/metrics") {
      const response = await metricsResponse(metrics, header("authorization"), info.remoteAddr.hostname);
      end({ status: response.status, aborted: false });
      return response;
    }
    const answer = staticAnswer(ui, healthy, request.method, path, header);
    if (answer) {
      end({ status: answer.status, aborted: false });
      return toResponse(answer);
    }
    // Made when first needed: most unary calls never read their signal.
    let made: CallSignal | undefined;
    const callSignal = () => made ??= new CallSignal(info, this.open);
    return this.#rpc({ request, path, peer: () => info.remoteAddr.hostname, end, callSignal });
  }

  /** An RPC: the fast path when it takes the call, else connect-es's handler (which logs a stream's end). */
  async #rpc(call: Call): Promise<Response> {
    let viaGeneric = false;
    const fallback = (request: Request, body?: Uint8Array): Promise<Response> => {
      viaGeneric = true;
      return this.#viaGeneric({ ...call, request }, body);
    };
    const signal = () => call.callSignal().signal;
    const response = await (this.#fast(call.request, call.path, call.peer, signal, fallback) ??
      fallback(call.request));
    if (!viaGeneric) call.end({ status: response.status, aborted: false });
    return response;
  }

  async #viaGeneric(call: Call, body?: Uint8Array): Promise<Response> {
    const result = await this.#generic(call, body);
    if (result.answer) {
      call.end({ status: result.answer.status, aborted: false });
      return toResponse(result.answer);
    }
    return finish(result.response, call.end, call.callSignal());
  }

  async #generic({ request, path, peer, callSignal }: Call, body?: Uint8Array): Promise<GenericResult> {
    const contentType = request.headers.get("content-type") ?? "";
    if (/^application\/grpc(?!-web)/i.test(contentType)) {
      return { answer: grpcStatusAnswer("application/grpc", Code.Unimplemented, GRPC_ELSEWHERE) };
    }
    const handler = this.#handlers.get(path);
    if (!handler) {
      return {
        answer: notFoundAnswer(request.method, path, (name) => request.headers.get(name) ?? undefined),
      };
    }
    const universal: UniversalServerRequest = {
      httpVersion: "",
      method: request.method,
      url: request.url,
      header: request.headers,
      body: body ? createAsyncIterable([body]) : chunksOf(request.body),
      signal: callSignal().signal,
      contextValues: lazyPeerValues(peer),
    };
    return { response: await handler(universal) };
  }
}

/**
 * Opens the front door.
 *
 * @example
 * ```ts ignore
 * const door = await openFrontDoor({ port: 8080, routes, logger, maxMessageBytes, healthy, shutdown });
 * await door.close(10_000);
 * ```
 */
export function openFrontDoor(options: FrontDoorOptions): FrontDoor {
  const { logger } = options;
  const handler = new FrontDoorHandler(options);
  /** Aborting it closes every connection (`Deno.serve` cannot escalate a graceful `shutdown()`). */
  const force = new AbortController();
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    ...(options.tls ?? {}),
    signal: force.signal,
    onListen() {},
    onError(error) {
      logger.error("request failed", errorFields(error));
      return new Response("Internal error\n", { status: 500, headers: { "content-type": "text/plain" } });
    },
  }, (request, info) => handler.serve(request, info));
  /**
   * `Deno.serve`'s graceful `shutdown()` waits without a bound for a request whose client stopped sending or
   * reading, and cannot be made forceful afterwards; so the front door waits for its open requests itself, lets
   * the last answers go out (one turn of the event loop), then closes every connection.
   */
  const closeWithin = async (deadlineMs: number): Promise<void> => {
    if (!await handler.open.idle(deadlineMs)) {
      logger.warn("closing the front door's connections", { unfinished: handler.open.size });
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
    force.abort();
    await server.finished.catch(() => {});
  };
  let closed: Promise<void> | undefined;
  return {
    port: server.addr.port,
    close: (deadlineMs) => closed ??= closeWithin(deadlineMs),
  };
}

/** The fetch `Response` of a universal one; a streamed body reports its end to the request log. */
/** `GET /metrics`: the Prometheus text, or the refusal `access` gives. */
async function metricsResponse(
  { metrics, access }: NonNullable<FrontDoorOptions["metrics"]>,
  authorization: string | undefined,
  peer: string,
): Promise<Response> {
  const headers = {
    ...SECURITY_HEADERS,
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
  };
  const refused = metricsRefusal(access, authorization, peer);
  if (refused) return new Response(refused.message, { status: refused.status, headers });
  try {
    const body = await metrics.render();
    return new Response(body, { status: 200, headers: { ...headers, "content-type": metrics.contentType } });
  } catch (error) {
    return new Response(`Reading the metrics failed: ${error}\n`, { status: 500, headers });
  }
}

function finish(response: UniversalServerResponse, end: EndRequest, call: CallSignal): Response {
  const body = response.body;
  if (body === undefined || body instanceof Uint8Array) {
    end({ status: response.status, aborted: false });
    return universalServerResponseToFetch(response);
  }
  // Streams carry no HTTP trailers on this port (Connect and grpc-web end inside the body).
  return new Response(observed(body, end, response.status, call), {
    status: response.status,
    headers: response.header,
  });
}
