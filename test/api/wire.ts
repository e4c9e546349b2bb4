/**
 * Hand-built wire formats for tests: grpc-web frames (5-byte prefix: flags, big-endian length) and trailers.
 *
 * @module
 */
import http2 from "node:http2";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { queryOne } from "../../src/dendrite/mod.ts";
import { GreetingListSchema, SearchQuerySchema } from "../../src/gen/example/v1/domain_pb.ts";
import { eventually } from "../assert.ts";
import type { TestApp } from "./fixture.ts";

/** Flag of a grpc-web trailer frame. */
export const TRAILER_FLAG = 0x80;

/** One grpc-web frame. */
export function frame(data: Uint8Array, flags = 0, declaredLength = data.length): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, declaredLength);
  out.set(data, 5);
  return out;
}

/** A grpc-web request body with one message. */
export function grpcWebBody<S extends DescMessage>(
  schema: S,
  init: MessageInitShape<S>,
): Uint8Array<ArrayBuffer> {
  return frame(toBinary(schema, create(schema, init)));
}

/** Splits a grpc-web response body into frames; throws on a truncated frame. */
export function parseFrames(body: Uint8Array): { flags: number; data: Uint8Array }[] {
  const frames: { flags: number; data: Uint8Array }[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < 5) throw new Error(`Truncated frame header at ${offset}`);
    const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0);
    if (body.length - offset - 5 < length) throw new Error(`Truncated frame at ${offset}`);
    frames.push({ flags: body[offset], data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return frames;
}

/** Parses a grpc-web trailer frame (`name: value` lines). */
export function parseTrailer(data: Uint8Array): Map<string, string> {
  const trailer = new Map<string, string>();
  for (const line of new TextDecoder().decode(data).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailer.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return trailer;
}

/** POSTs a grpc-web (binary) call and returns status, headers, frames and the trailer. */
export async function grpcWebCall(
  url: string,
  path: string,
  body: Uint8Array<ArrayBuffer>,
  contentType = "application/grpc-web+proto",
  headers: Readonly<Record<string, string>> = {},
) {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": contentType, "x-grpc-web": "1" },
    body,
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const frames = parseFrames(bytes);
  const trailerFrame = frames.find((f) => (f.flags & TRAILER_FLAG) !== 0);
  // A "trailers-only" answer carries the status in the headers instead.
  const status = trailerFrame
    ? parseTrailer(trailerFrame.data).get("grpc-status")
    : response.headers.get("grpc-status") ?? undefined;
  return {
    response,
    frames,
    dataFrames: frames.filter((f) => (f.flags & TRAILER_FLAG) === 0),
    trailer: trailerFrame ? parseTrailer(trailerFrame.data) : undefined,
    grpcStatus: status,
  };
}

/** POSTs a Connect JSON unary call. */
export async function connectJson(
  url: string,
  path: string,
  body: string | Uint8Array<ArrayBuffer> | Record<string, unknown>,
  contentType = "application/json",
  headers: Readonly<Record<string, string>> = {},
) {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": contentType },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { response, text, json };
}

/** Waits until the projection finds a greeting with `message` (the projection is asynchronous). */
export async function waitProjected(t: TestApp, message: string): Promise<void> {
  await eventually(
    async () => {
      const list = await queryOne(
        t.app.ports.queryBus,
        create(SearchQuerySchema, { query: `"${message}"`, limit: 10 }),
        GreetingListSchema,
      );
      return list.greetings.some((g) => g.message === message);
    },
    20_000,
    `the greeting "${message}" to be projected`,
  );
}

export const GREETER = "/example.v1.GreeterService";

/** POSTs over cleartext HTTP/2 (prior knowledge) with node:http2; returns status, headers and body. */
export function h2Post(
  url: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Uint8Array[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    stream.on("error", (error) => {
      session.close();
      reject(error);
    });
    stream.on("end", () => {
      session.close();
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const chunk of chunks) {
        all.set(chunk, offset);
        offset += chunk.length;
      }
      resolve({ status: Number(responseHeaders[":status"]), headers: responseHeaders, body: all });
    });
    stream.end(body);
  });
}
