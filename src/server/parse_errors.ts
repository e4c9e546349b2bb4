/**
 * A request message that does not decode (protobuf binary that is truncated or malformed, a proto string that is
 * not UTF-8) is the client's mistake: `InvalidArgument` (HTTP 400 in Connect) with a message naming the request
 * type. connect-es 2.2 answers it as `Internal` ("parse binary: …") and parses before any interceptor runs, so the
 * answer is corrected here, around each RPC handler, in all three protocols: the gRPC trailer, the grpc-web trailer
 * frame, the Connect unary error body and the Connect end-of-stream message. A request in a content type no
 * protocol accepts (or with none) gets a body listing the accepted types.
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  encodeEnvelope,
  type UniversalHandler,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  createEndStreamSerialization,
  endStreamFlag,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";

/** How connect-es words a request message that does not decode. */
const PARSE_PREFIX = "parse binary: ";

/** The client-fault error for `error`, when `error` is connect-es's failure to decode the request. */
export function requestParseError(error: ConnectError, typeName: string): ConnectError | undefined {
  if (error.code !== Code.Internal || !error.rawMessage.startsWith(PARSE_PREFIX)) return undefined;
  const problem = error.rawMessage.slice(PARSE_PREFIX.length);
  return new ConnectError(`the request is not a valid ${typeName}: ${problem}`, Code.InvalidArgument);
}

type Rewrite = (error: ConnectError) => ConnectError | undefined;

/**
 * The gRPC spec's percent-encoding of `grpc-message` (only `%` and bytes outside printable ASCII): connect-es
 * encodes as a URI component, which grpc-js clients decode only partly (a ":" stays "%3A").
 */
function grpcMessage(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Sets the gRPC status of `error` on trailers (or headers), with `grpc-message` encoded as the gRPC spec says. */
export function setGrpcStatus(headers: Headers, error: ConnectError): void {
  setTrailerStatus(headers, error);
  headers.set("grpc-message", grpcMessage(error.rawMessage));
}

function fixHeaders(headers: HeadersInit | undefined, rewrite: Rewrite): void {
  if (!(headers instanceof Headers)) return;
  const error = findTrailerError(headers);
  const fixed = error && rewrite(error);
  if (fixed) setGrpcStatus(headers, fixed);
}

/** A chunk that is exactly one uncompressed envelope with `flag` set (connect-es writes one envelope a chunk). */
function wholeEnvelope(chunk: Uint8Array, flag: number): Uint8Array | undefined {
  if (chunk.length < 5 || (chunk[0] & flag) !== flag || (chunk[0] & 0b1) !== 0) return undefined;
  const length = new DataView(chunk.buffer, chunk.byteOffset, 5).getUint32(1);
  return length === chunk.length - 5 ? chunk.subarray(5) : undefined;
}

function fixGrpcWebTrailer(chunk: Uint8Array, rewrite: Rewrite): Uint8Array {
  const data = wholeEnvelope(chunk, trailerFlag);
  if (!data) return chunk;
  const trailer = trailerParse(data);
  const error = findTrailerError(trailer);
  const fixed = error && rewrite(error);
  if (!fixed) return chunk;
  setGrpcStatus(trailer, fixed);
  return encodeEnvelope(trailerFlag, trailerSerialize(trailer));
}

const endStream = createEndStreamSerialization({});

function fixConnectEndStream(chunk: Uint8Array, rewrite: Rewrite): Uint8Array {
  const data = wholeEnvelope(chunk, endStreamFlag);
  if (!data) return chunk;
  const { metadata, error } = endStream.parse(data);
  const fixed = error && rewrite(error);
  if (!fixed) return chunk;
  return encodeEnvelope(endStreamFlag, endStream.serialize({ metadata, error: fixed }));
}

async function* mapChunks(
  body: AsyncIterable<Uint8Array> | Uint8Array,
  map: (chunk: Uint8Array) => Uint8Array,
  atEnd: () => void,
): AsyncIterable<Uint8Array> {
  const chunks = body instanceof Uint8Array ? [body] : body;
  for await (const chunk of chunks) yield map(chunk);
  atEnd();
}

async function fixConnectUnary(
  response: UniversalServerResponse,
  rewrite: Rewrite,
): Promise<UniversalServerResponse> {
  const header = new Headers(response.header);
  if (header.has("content-encoding") || !response.body) return response;
  const parts: Uint8Array[] = [];
  if (response.body instanceof Uint8Array) parts.push(response.body);
  else for await (const part of response.body) parts.push(part);
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  parts.reduce((offset, part) => (bytes.set(part, offset), offset + part.length), 0);
  let fixed: ConnectError | undefined;
  try {
    fixed = rewrite(errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Unknown)));
  } catch {
    fixed = undefined;
  }
  const body = fixed ? errorToJsonBytes(fixed, {}) : bytes;
  header.set("content-length", String(body.length));
  return {
    ...response,
    status: fixed ? codeToHttpStatus(fixed.code) : response.status,
    header,
    body: createAsyncIterable([body]),
  };
}

/** The content types a unary RPC accepts (the UI and clients use the binary grpc-web and Connect JSON). */
const UNARY_TYPES = [
  "application/json",
  "application/proto",
  "application/connect+json",
  "application/connect+proto",
  "application/grpc",
  "application/grpc+proto",
  "application/grpc+json",
  "application/grpc-web+proto",
  "application/grpc-web+json",
];

/** A streaming RPC has no plain-JSON form: every message travels in an envelope. */
const STREAMING_TYPES = UNARY_TYPES.filter((type) =>
  type !== "application/json" && type !== "application/proto"
);

/** What to do about a streaming call sent as plain JSON (what curl sends). */
const STREAMING_HINT =
  "a streaming RPC takes no plain JSON: send application/connect+json with the request " +
  "message in an envelope (1 flag byte 0x00, 4 bytes big-endian length, then the JSON), or call it with grpcurl " +
  'or buf curl; docs/api.md, "Streaming calls with curl", shows both';

/** connect-es answers 415 with no body; say what was wrong, what is accepted and, for streams, how to call. */
function unsupportedMediaType(
  contentType: string | null,
  method: UniversalHandler["method"],
): UniversalServerResponse {
  const got = contentType
    ? `Content-Type "${contentType}" is not supported`
    : "The request has no Content-Type";
  const streaming = method.methodKind !== "unary";
  const accepted = streaming ? STREAMING_TYPES : UNARY_TYPES;
  const hint = streaming
    ? `\n${method.name} is ${method.methodKind.replace("_", "-")}; ${STREAMING_HINT}`
    : "";
  const text = `${got}; ${method.name} accepts ${accepted.join(", ")}${hint}\n`;
  const body = new TextEncoder().encode(text);
  return {
    status: 415,
    header: new Headers({
      "content-type": "text/plain; charset=utf-8",
      "content-length": String(body.length),
      "x-content-type-options": "nosniff",
    }),
    body: createAsyncIterable([body]),
  };
}

/** `handler`, answering a request message that does not decode with `InvalidArgument`. */
export function withRequestParseErrors(handler: UniversalHandler): UniversalHandler {
  const rewrite: Rewrite = (error) => requestParseError(error, handler.method.input.typeName);
  const wrapped = async (request: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const response = await handler(request);
    const contentType = new Headers(response.header).get("content-type") ?? "";
    if (contentType.startsWith("application/grpc-web")) {
      fixHeaders(response.header, rewrite);
      if (!response.body) return response;
      return { ...response, body: mapChunks(response.body, (c) => fixGrpcWebTrailer(c, rewrite), () => {}) };
    }
    if (contentType.startsWith("application/grpc")) {
      fixHeaders(response.header, rewrite);
      if (!response.body) return response;
      const trailer = response.trailer;
      return { ...response, body: mapChunks(response.body, (c) => c, () => fixHeaders(trailer, rewrite)) };
    }
    if (contentType.startsWith("application/connect+")) {
      if (!response.body) return response;
      return {
        ...response,
        body: mapChunks(response.body, (c) => fixConnectEndStream(c, rewrite), () => {}),
      };
    }
    if (response.status === 415) {
      return unsupportedMediaType(request.header.get("content-type"), handler.method);
    }
    if (response.status === 500 && contentType.startsWith("application/json")) {
      return await fixConnectUnary(response, rewrite);
    }
    return response;
  };
  return Object.assign(wrapped, {
    method: handler.method,
    service: handler.service,
    requestPath: handler.requestPath,
    protocolNames: handler.protocolNames,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}
