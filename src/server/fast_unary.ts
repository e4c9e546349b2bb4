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
import { create, type DescMessage, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  encodeEnvelope,
  getJsonOptions,
  invokeUnaryImplementation,
  mergeNonProtocolHeaders,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, trailerMux } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus, trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { requestParseError, setGrpcStatus } from "./parse_errors.ts";
import { lazyPeerValues } from "./peer_values.ts";
import { isEmpty, RecordedHeaders } from "./recorded_headers.ts";
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

/** A unary route ready for the fast paths. */
export interface FastRoute extends UnaryRoute {
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
  /** connect-es's JSON options for these calls. */
  readonly jsonOptions: ReturnType<typeof getJsonOptions>;
  readonly maxBytes: number;
}

/** The generic handler, given the request and (when the fast path already read it) its body. */
export type Fallback = (request: Request, body?: Uint8Array) => Promise<Response>;

/** The fast path: a `Response`, or `undefined` when the request is not for it (its body is unread then). */
export type FastUnary = (
  request: Request,
  path: string,
  peer: () => string,
  signal: () => AbortSignal,
  fallback: Fallback,
) =>
  | Promise<Response>
  | undefined;

/** The unary routes by request path, each with its serialization (connect-es's, with the size limit). */
export function fastRoutes(
  routes: ReadonlyMap<string, UnaryRoute>,
  maxBytes: number,
): Map<string, FastRoute> {
  const limits = { readMaxBytes: maxBytes, writeMaxBytes: maxBytes };
  const table = new Map<string, FastRoute>();
  for (const [path, route] of routes) {
    const serialization = createMethodSerializationLookup(route.spec.method, undefined, REQUEST_JSON, limits);
    table.set(path, { ...route, serialization, jsonOptions: getJsonOptions(REQUEST_JSON), maxBytes });
  }
  return table;
}

/** A fast path for `routes` with messages up to `maxBytes`. */
export function createFastUnary(routes: ReadonlyMap<string, UnaryRoute>, maxBytes: number): FastUnary {
  const table = fastRoutes(routes, maxBytes);
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

/** The caller's address and the request's signal, each made when first asked for. */
export interface Caller {
  readonly peer: () => string;
  readonly signal: () => AbortSignal;
}

async function serve(route: FastRoute, wire: Wire, request: Request, caller: Caller, fallback: Fallback) {
  const body = await request.bytes();
  let message: Uint8Array = body;
  if (wire === "grpc-web") {
    const data = envelopeData(body);
    if (data === undefined) return fallback(request, body);
    message = data;
  }
  const context = new FastContext(route, request, caller, wire === "grpc-web" ? "grpc-web" : "connect");
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
    const output = await invoke(route, context, input);
    if (wire === "connect-json") return connectAnswer(context, wire, jsonAnswer(route, output));
    const bytes = route.serialization.getO(true).serialize(output);
    return wire === "grpc-web" ? grpcWebAnswer(context, bytes) : connectAnswer(context, wire, bytes);
  } catch (error) {
    return fail(asConnectError(error), false);
  }
}

/**
 * Runs the implementation: through connect-es's interceptor chain when the route has interceptors; without any,
 * it calls the implementation itself and normalizes the answer as that chain does (`create` of the output type).
 */
export async function invoke(route: FastRoute, context: FastContext, input: ReturnType<typeof decode>) {
  const spec = route.spec;
  if (route.interceptors.length > 0) {
    // connect-es copies the context's own properties (`Object.assign`), so it gets a plain object.
    return await invokeUnaryImplementation(spec, context.plain(), input, route.interceptors);
  }
  return create(spec.method.output, await spec.impl(input, context));
}

export function asConnectError(thrown: unknown): ConnectError {
  return thrown instanceof ConnectError
    ? thrown
    : new ConnectError("internal error", Code.Internal, undefined, undefined, thrown);
}

/**
 * A JSON answer as text, as connect-es writes it (same options, same size limit), left to the runtime to encode:
 * a string body is not copied again by `Response`.
 */
function jsonAnswer(route: FastRoute, output: Parameters<typeof toJsonString>[1]): string {
  let json;
  try {
    json = toJsonString(route.spec.method.output, output, route.jsonOptions);
  } catch (error) {
    throw ConnectError.from(error, Code.Internal);
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: count the bytes only when the limit is within reach.
  if (json.length * 3 > route.maxBytes) {
    const size = utf8.encode(json).byteLength;
    if (size > route.maxBytes) {
      throw new ConnectError(
        `message size ${size} is larger than configured writeMaxBytes ${route.maxBytes}`,
        Code.ResourceExhausted,
      );
    }
  }
  return json;
}

const utf8 = new TextEncoder();

/** The message of a body that is exactly one uncompressed envelope. */
function envelopeData(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = (body[1] * 0x1000000) + ((body[2] << 16) | (body[3] << 8) | body[4]);
  return length === body.length - 5 ? body.subarray(5) : undefined;
}

/** Decodes like connect-es, with a protobuf that does not decode answered as the client's mistake. */
export function decode(route: FastRoute, binary: boolean, bytes: Uint8Array) {
  try {
    return route.serialization.getI(binary).parse(bytes);
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    throw requestParseError(error, route.spec.method.input.typeName) ?? error;
  }
}

/**
 * The handler context of a fast call. Its headers, values and signal are made when first read: most calls never
 * read them, and each costs an allocation (the signal, an `AbortController` and a promise reaction).
 */
export class FastContext implements HandlerContext {
  readonly method: FastRoute["spec"]["method"];
  readonly service: FastRoute["spec"]["method"]["parent"];
  readonly requestMethod: string;
  readonly requestHeader: Headers;
  readonly url: string;
  readonly protocolName: string;
  readonly #caller: Caller;
  #responseHeader?: RecordedHeaders;
  #responseTrailer?: RecordedHeaders;
  #values?: ContextValues;

  constructor(
    route: FastRoute,
    request: Pick<Request, "method" | "headers" | "url">,
    caller: Caller,
    protocolName: string,
  ) {
    this.method = route.spec.method;
    this.service = route.spec.method.parent;
    this.requestMethod = request.method;
    this.requestHeader = request.headers;
    this.url = request.url;
    this.protocolName = protocolName;
    this.#caller = caller;
  }

  get signal(): AbortSignal {
    return this.#caller.signal();
  }

  get values(): ContextValues {
    return this.#values ??= lazyPeerValues(this.#caller.peer);
  }

  get responseHeader(): Headers {
    return this.#responseHeader ??= new RecordedHeaders();
  }

  get responseTrailer(): Headers {
    return this.#responseTrailer ??= new RecordedHeaders();
  }

  /** Whether no response trailer was set (without making them). */
  get trailerUntouched(): boolean {
    return this.#responseTrailer === undefined || this.#responseTrailer.empty;
  }

  /**
   * The response headers as a plain record (lower-case names) when only `set` made them, which `Response` takes
   * for less than a `Headers`; else undefined.
   */
  get headerRecord(): Readonly<Record<string, string>> | undefined {
    return this.#responseHeader === undefined ? {} : this.#responseHeader.record;
  }

  timeoutMs(): undefined {
    return undefined;
  }

  /** The same context as a plain object, every part made (sharing the headers, so answers set them here). */
  plain(): HandlerContext {
    return {
      method: this.method,
      service: this.service,
      requestMethod: this.requestMethod,
      requestHeader: this.requestHeader,
      url: this.url,
      protocolName: this.protocolName,
      signal: this.signal,
      values: this.values,
      responseHeader: this.responseHeader,
      responseTrailer: this.responseTrailer,
      timeoutMs: () => undefined,
    };
  }
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

const CONNECT_TYPE = { "connect-proto": "application/proto", "connect-json": "application/json" } as const;

function connectAnswer(
  context: FastContext,
  wire: Exclude<Wire, "grpc-web">,
  body: Uint8Array | string,
): Response {
  const contentType = CONNECT_TYPE[wire];
  // Most answers only set a header or two: a plain header list spares iterating a `Headers`.
  const init = typeof body === "string" ? body : bodyInit(body);
  const record = context.trailerUntouched ? context.headerRecord : undefined;
  if (record) return new Response(init, { headers: { ...record, "content-type": contentType } });
  const header = unaryHeaders(context);
  header.set("content-type", contentType);
  return new Response(init, { status: 200, headers: header });
}

function connectError(context: FastContext, error: ConnectError): Response {
  if (!error.isWireError) mergeNonProtocolHeaders(context.responseHeader, error.metadata);
  const header = unaryHeaders(context);
  header.set("content-type", "application/json");
  return new Response(bodyInit(errorToJsonBytes(error, {})), {
    status: codeToHttpStatus(error.code),
    headers: header,
  });
}

/**
 * Where grpc-web answers are put together. `Response` copies a byte body when it is made (the Fetch standard's
 * "extract a body" takes a copy of a `BufferSource`), so one buffer serves every answer that fits: each answer
 * then allocates one buffer (the response's own copy) instead of two, and a small allocation outside V8's heap
 * is what costs here (~2 µs per answer under load).
 */
const SCRATCH_BYTES = 16 * 1024;
const scratch = new Uint8Array(SCRATCH_BYTES);

/**
 * A grpc-web answer: the message's envelope (when there is a message), then the trailer frame, written into one
 * buffer (an envelope of its own would copy the message once more).
 */
function grpcWebResponse(
  context: FastContext,
  message: Uint8Array | undefined,
  trailer: Uint8Array,
): Response {
  const type = "application/grpc-web+proto";
  const record = context.headerRecord;
  // (Not `instanceof Headers`: in Deno the global `Headers` is a lazy getter, ~80 ns a read.)
  const header = record ? { ...record, "content-type": type } : context.responseHeader;
  if (!record) context.responseHeader.set("content-type", type);
  const head = message === undefined ? 0 : 5 + message.length;
  const size = head + trailer.length;
  const body = size <= SCRATCH_BYTES ? scratch : new Uint8Array(size);
  if (message !== undefined) {
    const length = message.length;
    body[0] = 0; // the data frame's flags (the shared buffer still holds an earlier answer's bytes)
    body[1] = length >>> 24;
    body[2] = (length >>> 16) & 0xff;
    body[3] = (length >>> 8) & 0xff;
    body[4] = length & 0xff;
    body.set(message, 5);
  }
  body.set(trailer, head);
  return new Response(bodyInit(body.subarray(0, size)), { status: 200, headers: header });
}

/** The trailer frame of a call that succeeded and set no trailer. */
const OK_TRAILER = (() => {
  const trailer = new Headers();
  setTrailerStatus(trailer, undefined);
  return encodeEnvelope(trailerFlag, trailerSerialize(trailer));
})();

function grpcWebAnswer(context: FastContext, message: Uint8Array): Response {
  if (context.trailerUntouched) return grpcWebResponse(context, message, OK_TRAILER);
  const trailer = context.responseTrailer;
  setTrailerStatus(trailer, undefined);
  return grpcWebResponse(context, message, encodeEnvelope(trailerFlag, trailerSerialize(trailer)));
}

/** As connect-es does; a request that does not decode gets its message encoded as the gRPC spec says. */
function grpcWebError(context: FastContext, error: ConnectError, parse: boolean): Response {
  const trailer = context.responseTrailer;
  if (parse) setGrpcStatus(trailer, error);
  else setTrailerStatus(trailer, error);
  return grpcWebResponse(context, undefined, encodeEnvelope(trailerFlag, trailerSerialize(trailer)));
}
