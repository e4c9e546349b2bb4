/**
 * The front door's fast path for the browser's unary calls: Connect unary (JSON and binary) and grpc-web unary
 * (binary), uncompressed, without a deadline header, with a `Content-Length` within the size limit. It decodes the
 * request with the same serialization as connect-es (strict JSON, the size limit), runs the same interceptors
 * (error mapping, auth) around the same service implementation, and encodes the answer as connect-es would. Any
 * other request (streams, compression, timeouts, grpc-web-text, JSON grpc-web, a malformed envelope) is left to
 * connect-es's generic handler.
 *
 * @module
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  encodeEnvelope,
  invokeUnaryImplementation,
  mergeNonProtocolHeaders,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, trailerMux } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus, trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { peerAddressKey } from "../dendrite/security/mod.ts";
import { requestParseError, setGrpcStatus } from "./parse_errors.ts";
import { REQUEST_JSON } from "./rpc_router.ts";
import type { UnaryRoute } from "./routes.ts";

type Wire = "connect-json" | "connect-proto" | "grpc-web";

const WIRES: ReadonlyMap<string, Wire> = new Map([
  ["application/json", "connect-json"],
  ["application/json; charset=utf-8", "connect-json"],
  ["application/json;charset=utf-8", "connect-json"],
  ["application/proto", "connect-proto"],
  ["application/grpc-web", "grpc-web"],
  ["application/grpc-web+proto", "grpc-web"],
]);

/** Headers that send a request to the generic path (compression, deadlines). */
const GENERIC_IF = ["content-encoding", "connect-timeout-ms", "grpc-encoding", "grpc-timeout"];

interface Route extends UnaryRoute {
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** The generic handler, given the request and (when the fast path already read it) its body. */
export type Fallback = (request: Request, body?: Uint8Array) => Promise<Response>;

/** The fast path: a `Response`, or `undefined` when the request is not for it (its body is unread then). */
export type FastUnary = (
  request: Request,
  path: string,
  peer: string,
  signal: () => AbortSignal,
  fallback: Fallback,
) =>
  | Promise<Response>
  | undefined;

/** A fast path for `routes` with messages up to `maxBytes`. */
export function createFastUnary(routes: ReadonlyMap<string, UnaryRoute>, maxBytes: number): FastUnary {
  const limits = { readMaxBytes: maxBytes, writeMaxBytes: maxBytes };
  const table = new Map<string, Route>();
  for (const [path, route] of routes) {
    const serialization = createMethodSerializationLookup(route.spec.method, undefined, REQUEST_JSON, limits);
    table.set(path, { ...route, serialization });
  }
  return (request, path, peer, signal, fallback) => {
    const route = table.get(path);
    if (route === undefined || request.method !== "POST") return undefined;
    const headers = request.headers;
    const wire = WIRES.get(headers.get("content-type") ?? "");
    if (wire === undefined) return undefined;
    for (const name of GENERIC_IF) {
      const value = headers.get(name);
      if (value !== null && value !== "identity") return undefined;
    }
    const length = Number(headers.get("content-length") ?? NaN);
    if (!(length > 0 && length <= maxBytes)) return undefined;
    return serve(route, wire, request, { peer, signal }, fallback);
  };
}

/** The caller's address and the request's signal. */
interface Caller {
  readonly peer: string;
  readonly signal: () => AbortSignal;
}

async function serve(route: Route, wire: Wire, request: Request, caller: Caller, fallback: Fallback) {
  const body = new Uint8Array(await request.arrayBuffer());
  let message: Uint8Array = body;
  if (wire === "grpc-web") {
    const data = envelopeData(body);
    if (data === undefined) return fallback(request, body);
    message = data;
  }
  const context = handlerContext(route, request, caller, wire === "grpc-web" ? "grpc-web" : "connect");
  const binary = wire !== "connect-json";
  const fail = (error: ConnectError, parse: boolean) =>
    wire === "grpc-web" ? grpcWebError(context, error, parse) : connectError(context, error);
  let input;
  try {
    input = decode(route, binary, message);
  } catch (error) {
    return fail(asConnectError(error), true);
  }
  try {
    const output = await invokeUnaryImplementation(route.spec, context, input, route.interceptors);
    const bytes = route.serialization.getO(binary).serialize(output);
    return wire === "grpc-web" ? grpcWebAnswer(context, bytes) : connectAnswer(context, wire, bytes);
  } catch (error) {
    return fail(asConnectError(error), false);
  }
}

function asConnectError(thrown: unknown): ConnectError {
  return thrown instanceof ConnectError
    ? thrown
    : new ConnectError("internal error", Code.Internal, undefined, undefined, thrown);
}

/** The message of a body that is exactly one uncompressed envelope. */
function envelopeData(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = new DataView(body.buffer, body.byteOffset, 5).getUint32(1);
  return length === body.length - 5 ? body.subarray(5) : undefined;
}

/** Decodes like connect-es, with a protobuf that does not decode answered as the client's mistake. */
function decode(route: Route, binary: boolean, bytes: Uint8Array) {
  try {
    return route.serialization.getI(binary).parse(bytes);
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    throw requestParseError(error, route.spec.method.input.typeName) ?? error;
  }
}

function handlerContext(
  route: Route,
  request: Request,
  caller: Caller,
  protocolName: string,
): HandlerContext {
  return {
    method: route.spec.method,
    service: route.spec.method.parent,
    signal: caller.signal(),
    timeoutMs: () => undefined,
    requestMethod: request.method,
    requestHeader: request.headers,
    responseHeader: new Headers(),
    responseTrailer: new Headers(),
    protocolName,
    values: createContextValues().set(peerAddressKey, caller.peer),
    url: request.url,
  };
}

/** Bytes as a fetch body (protobuf-es and connect-es type them over `ArrayBufferLike`; they are never shared). */
export function bodyInit(bytes: Uint8Array): BodyInit {
  return bytes as Uint8Array<ArrayBuffer>;
}

/** Connect unary sends trailers as `trailer-` headers. */
function unaryHeaders(context: HandlerContext): Headers {
  return isEmpty(context.responseTrailer)
    ? context.responseHeader
    : trailerMux(context.responseHeader, context.responseTrailer);
}

function isEmpty(headers: Headers): boolean {
  for (const _ of headers.keys()) return false;
  return true;
}

function connectAnswer(context: HandlerContext, wire: Wire, body: Uint8Array): Response {
  const header = unaryHeaders(context);
  header.set("content-type", wire === "connect-proto" ? "application/proto" : "application/json");
  return new Response(bodyInit(body), { status: 200, headers: header });
}

function connectError(context: HandlerContext, error: ConnectError): Response {
  if (!error.isWireError) mergeNonProtocolHeaders(context.responseHeader, error.metadata);
  const header = unaryHeaders(context);
  header.set("content-type", "application/json");
  return new Response(bodyInit(errorToJsonBytes(error, {})), {
    status: codeToHttpStatus(error.code),
    headers: header,
  });
}

function grpcWebResponse(context: HandlerContext, frames: Uint8Array[]): Response {
  const header = context.responseHeader;
  header.set("content-type", "application/grpc-web+proto");
  const size = frames.reduce((sum, frame) => sum + frame.length, 0);
  const body = new Uint8Array(size);
  frames.reduce((offset, frame) => (body.set(frame, offset), offset + frame.length), 0);
  return new Response(bodyInit(body), { status: 200, headers: header });
}

function grpcWebAnswer(context: HandlerContext, message: Uint8Array): Response {
  const trailer = context.responseTrailer;
  setTrailerStatus(trailer, undefined);
  return grpcWebResponse(context, [
    encodeEnvelope(0, message),
    encodeEnvelope(trailerFlag, trailerSerialize(trailer)),
  ]);
}

/** As connect-es does; a request that does not decode gets its message encoded as the gRPC spec says. */
function grpcWebError(context: HandlerContext, error: ConnectError, parse: boolean): Response {
  const trailer = context.responseTrailer;
  if (parse) setGrpcStatus(trailer, error);
  else setTrailerStatus(trailer, error);
  return grpcWebResponse(context, [encodeEnvelope(trailerFlag, trailerSerialize(trailer))]);
}
