/**
 * Answers that are not RPCs, the same on every port: `/healthz`, the UI's files, and "not found" in the protocol
 * the client speaks (unknown RPC → `Unimplemented`). Each is plain data ({@link Answer}) that the node:http and
 * the `Deno.serve` sides send in their own way.
 *
 * @module
 */
import type { UiAssets } from "./ui.ts";

/** A complete answer. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
}

/** Reads a request header (lower-case name); undefined when absent. */
export type HeaderOf = (name: string) => string | undefined;

export const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const UI_HEADERS = {
  ...SECURITY_HEADERS,
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "cache-control": "no-cache",
};

/** `/healthz`: 200 while serving, 503 while shutting down. */
export function healthAnswer(ok: boolean): Answer {
  return {
    status: ok ? 200 : 503,
    headers: { ...SECURITY_HEADERS, "content-type": "application/json", "cache-control": "no-store" },
    body: JSON.stringify({ status: ok ? "ok" : "shutting down" }),
  };
}

/** A UI file (with ETag revalidation and gzip), or undefined when `path` is none. */
export function assetAnswer(
  ui: UiAssets | undefined,
  method: string,
  path: string,
  header: HeaderOf,
): Answer | undefined {
  const asset = ui?.get(path === "/index.html" ? "/" : path);
  if (!asset) return undefined;
  if (header("if-none-match") === asset.etag) {
    return { status: 304, headers: { ...UI_HEADERS, etag: asset.etag } };
  }
  const gzip = /\bgzip\b/.test(header("accept-encoding") ?? "");
  const body = gzip ? asset.gzip : asset.body;
  return {
    status: 200,
    headers: {
      ...UI_HEADERS,
      "content-type": asset.contentType,
      "content-length": String(body.length),
      etag: asset.etag,
      vary: "accept-encoding",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    },
    body: method === "HEAD" ? undefined : body,
  };
}

/** `/healthz` or a UI file for GET and HEAD; undefined for anything else. */
export function staticAnswer(
  ui: UiAssets | undefined,
  healthy: () => boolean,
  method: string,
  path: string,
  header: HeaderOf,
): Answer | undefined {
  if (method !== "GET" && method !== "HEAD") return undefined;
  if (path === "/healthz") return healthAnswer(healthy());
  return assetAnswer(ui, method, path, header);
}

/** A gRPC status in the headers only ("trailers-only"), for gRPC and grpc-web clients. */
export function grpcStatusAnswer(contentType: string, code: number, message: string): Answer {
  return {
    status: 200,
    headers: {
      "content-type": contentType,
      "grpc-status": String(code),
      "grpc-message": encodeURIComponent(message),
    },
  };
}

/** Answers a request no route matched, in the protocol the client speaks. */
export function notFoundAnswer(method: string, path: string, header: HeaderOf): Answer {
  const contentType = (header("content-type") ?? "").toLowerCase();
  const message = `Unknown procedure "${path}"`;
  if (method === "POST" && contentType.startsWith("application/grpc-web")) {
    const type = contentType.startsWith("application/grpc-web-text")
      ? "application/grpc-web-text+proto"
      : "application/grpc-web+proto";
    return grpcStatusAnswer(type, 12, message);
  }
  if (method === "POST" && contentType.startsWith("application/grpc")) {
    return grpcStatusAnswer("application/grpc", 12, message);
  }
  if (method === "POST" && /^application\/(json|proto|connect\+)/.test(contentType)) {
    return {
      status: 404,
      headers: { ...SECURITY_HEADERS, "content-type": "application/json" },
      body: JSON.stringify({ code: "unimplemented", message }),
    };
  }
  return {
    status: 404,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" },
    body: "Not found\n",
  };
}
