/**
 * The gRPC port's fast path for unary calls: gRPC over HTTP/2 (`application/grpc` or `application/grpc+proto`),
 * uncompressed, without a `grpc-timeout`, to a unary method. Like the front door's (`fast_unary.ts`), it decodes
 * with connect-es's serialization (the size limit included), runs the same interceptors around the same
 * implementation and answers as connect-es would: the message in one envelope, then the status in trailers. It
 * writes to node:http2's response directly instead of through connect-node's universal handler, which cost more
 * than half of the port's CPU per call. Other calls (streams, compression, deadlines, other protocols) are left
 * to connect-node.
 *
 * @module
 */
import type http from "node:http";
import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import {
  asConnectError,
  type Caller,
  decode,
  FastContext,
  type FastRoute,
  fastRoutes,
  invoke,
} from "./fast_unary.ts";
import { setGrpcStatus } from "./parse_errors.ts";
import type { UnaryRoute } from "./routes.ts";

const GRPC_TYPES = new Set(["application/grpc", "application/grpc+proto"]);
const CONTENT_TYPE = "application/grpc+proto";

/** Takes a call (true) and answers it, or leaves it to the generic handler (false; nothing read). */
export type GrpcFastUnary = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => boolean;

/**
 * The fast path for `routes`, messages up to `maxBytes`; `failed` hears of errors that could not be answered (the
 * client gone while the answer was written).
 */
export function createGrpcFastUnary(
  routes: ReadonlyMap<string, UnaryRoute>,
  maxBytes: number,
  failed: (error: unknown) => void,
): GrpcFastUnary {
  const table = fastRoutes(routes, maxBytes);
  return (request, response) => {
    if (request.httpVersionMajor !== 2 || request.method !== "POST") return false;
    const route = table.get((request.url ?? "").split("?", 1)[0]);
    if (route === undefined) return false;
    const headers = request.headers;
    if (!GRPC_TYPES.has(String(headers["content-type"] ?? ""))) return false;
    const encoding = headers["grpc-encoding"];
    if ((encoding !== undefined && encoding !== "identity") || headers["grpc-timeout"] !== undefined) {
      return false;
    }
    // HTTP/2 (checked above): node:http2's compatibility request and response.
    const stream = (response as http2.Http2ServerResponse).stream;
    serve(route, request as http2.Http2ServerRequest, response as http2.Http2ServerResponse).catch(
      (error) => {
        // Only the answer's writing throws (every other error is answered): reset the stream, the client sees it.
        failed(error);
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      },
    );
    return true;
  };
}

async function serve(
  route: FastRoute,
  request: http2.Http2ServerRequest,
  response: http2.Http2ServerResponse,
): Promise<void> {
  const body = await readBody(request, route.maxBytes + 5);
  if (body === undefined) return; // the client went away
  const context = new FastContext(route, nodeRequest(request), caller(request, response), "grpc");
  const message = envelopeMessage(body, route.maxBytes);
  if (message instanceof ConnectError) return answer(response, context, undefined, message, false);
  let input;
  try {
    input = decode(route, true, message);
  } catch (error) {
    return answer(response, context, undefined, asConnectError(error), true);
  }
  try {
    const output = await invoke(route, context, input);
    answer(response, context, route.serialization.getO(true).serialize(output), undefined, false);
  } catch (error) {
    answer(response, context, undefined, asConnectError(error), false);
  }
}

/** The request's bytes; too many: the first `limit` + 1 (the envelope check refuses them); gone: undefined. */
function readBody(request: http2.Http2ServerRequest, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const done = (body: Uint8Array | undefined) => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("close", onClose);
      resolve(body);
    };
    const onData = (chunk: Uint8Array) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) done(concat(chunks, size));
    };
    const onEnd = () => done(concat(chunks, size));
    const onClose = () => done(undefined);
    request.on("data", onData);
    request.once("end", onEnd);
    request.once("close", onClose);
  });
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * The one uncompressed message of a unary request, or why the body is not one (with connect-node's code and
 * message for each case, which `test/api/grpc_fast_path_test.ts` compares).
 */
function envelopeMessage(body: Uint8Array, maxBytes: number): Uint8Array | ConnectError {
  if (body.length === 0) {
    return new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  }
  const length = declaredLength(body, 0);
  if (length === undefined) return incomplete();
  if (length > maxBytes) {
    return new ConnectError(
      `message size ${length} is larger than configured readMaxBytes ${maxBytes}`,
      Code.ResourceExhausted,
    );
  }
  if (body.length < 5 + length) return incomplete();
  if (body[0] & 0b1) {
    return new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  }
  if (body.length > 5 + length) {
    const next = declaredLength(body, 5 + length);
    if (next === undefined || body.length < 10 + length + next) return incomplete();
    return new ConnectError(
      "protocol error: received extra input message for unary method",
      Code.Unimplemented,
    );
  }
  return body.subarray(5);
}

/** The length an envelope header at `at` declares; undefined when the header is cut short. */
function declaredLength(body: Uint8Array, at: number): number | undefined {
  if (body.length < at + 5) return undefined;
  return new DataView(body.buffer, body.byteOffset + at, 5).getUint32(1);
}

const incomplete = () => new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);

/**
 * What the handler context needs of the request: its method, headers (without pseudo-headers) and URL (absolute,
 * as connect-node gives it).
 */
function nodeRequest(request: http2.Http2ServerRequest): Pick<Request, "method" | "headers" | "url"> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) { for (const item of value) headers.append(name, item); }
    else headers.set(name, value);
  }
  const scheme = "encrypted" in request.socket && request.socket.encrypted ? "https" : "http";
  return { method: "POST", headers, url: `${scheme}://${request.authority}${request.url}` };
}

/** The caller's address, and a signal (made when read) that aborts when the client goes before the answer. */
function caller(request: http2.Http2ServerRequest, response: http2.Http2ServerResponse): Caller {
  let controller: AbortController | undefined;
  return {
    peer: () => request.socket?.remoteAddress ?? "",
    signal: () => {
      if (controller) return controller.signal;
      const made = controller = new AbortController();
      if (response.closed && !response.writableFinished) made.abort(gone());
      else response.once("close", () => response.writableFinished || made.abort(gone()));
      return made.signal;
    },
  };
}

const gone = () => new ConnectError("the client went away", Code.Canceled);

/** The answer: headers, the message's envelope (when there is one), then the status in trailers. */
function answer(
  response: http2.Http2ServerResponse,
  context: FastContext,
  message: Uint8Array | undefined,
  error: ConnectError | undefined,
  parse: boolean,
): void {
  const record = context.headerRecord;
  const headers: Record<string, string> = record ? { ...record } : Object.fromEntries(context.responseHeader);
  headers["content-type"] = CONTENT_TYPE;
  const trailer = context.trailerUntouched ? new Headers() : context.responseTrailer;
  if (error && parse) setGrpcStatus(trailer, error);
  else setTrailerStatus(trailer, error);
  response.writeHead(200, headers);
  response.addTrailers(Object.fromEntries(trailer));
  if (message === undefined) response.end();
  else response.end(encodeEnvelope(0, message));
}
