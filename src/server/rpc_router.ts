/**
 * What every connect-es router of the server shares: strict JSON request parsing, the accepted compressions, the
 * size limit, the services replayed from their one registration plus gRPC reflection for them, and the
 * `InvalidArgument` answer for a request message that does not decode.
 *
 * @module
 */
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { ACCEPT_COMPRESSION } from "./compression.ts";
import { withRequestParseErrors } from "./parse_errors.ts";
import { registerReflection } from "./reflection.ts";
import type { Routes } from "./routes.ts";

/** The largest request or response message, in bytes (bigger ones fail with `ResourceExhausted`). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * JSON requests are strict: a body that is not UTF-8 or names a field the message does not have is refused with
 * `InvalidArgument` rather than repaired (U+FFFD) or ignored.
 */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
export const REQUEST_JSON = {
  ignoreUnknownFields: false,
  textDecoder: {
    decode(bytes: Uint8Array): string {
      const ascii = asciiText(bytes);
      if (ascii !== undefined) return ascii;
      try {
        return strictUtf8.decode(bytes);
      } catch {
        throw new ConnectError("the request body is not valid UTF-8", Code.InvalidArgument);
      }
    },
  },
};

/** Short bodies decoded in JavaScript: a call into the runtime's decoder costs more than the loop. */
const ASCII_UP_TO = 512;

/** The text of a short all-ASCII body (ASCII is valid UTF-8), else `undefined`. */
function asciiText(bytes: Uint8Array): string | undefined {
  if (bytes.length > ASCII_UP_TO) return undefined;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return undefined;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** The connect-es router options of every router (and the fast path's serialization). */
export function routerOptions(maxBytes: number, shutdownSignal?: AbortSignal) {
  return {
    jsonOptions: REQUEST_JSON,
    readMaxBytes: maxBytes,
    writeMaxBytes: maxBytes,
    acceptCompression: [...ACCEPT_COMPRESSION],
    shutdownSignal,
  };
}

function servicesOf(router: ConnectRouter): DescService[] {
  return [...new Set(router.handlers.map((handler) => handler.service))];
}

/** Registers `routes` and reflection on `router`, with request parse errors answered as `InvalidArgument`. */
export function installRoutes(router: ConnectRouter, routes: Routes): void {
  routes.replay(router);
  registerReflection(router, servicesOf(router));
  router.handlers.splice(0, router.handlers.length, ...router.handlers.map(withRequestParseErrors));
}
