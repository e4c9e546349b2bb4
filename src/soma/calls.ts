/**
 * What soma's store services share for one gRPC call: a signal that aborts when the call is cancelled or soma
 * shuts down, and answering a unary call from a promise.
 *
 * @module
 */
import type { sendUnaryData } from "@grpc/grpc-js";
import type { AxonServiceError } from "./grpc_errors.ts";

/** Aborts when the call is cancelled (the caller went away) or `shutdown` aborts. */
export function callSignal(
  call: { on(event: "cancelled", listener: () => void): unknown },
  shutdown: AbortSignal,
): AbortSignal {
  const controller = new AbortController();
  call.on("cancelled", () => controller.abort(new DOMException("Call cancelled", "AbortError")));
  return AbortSignal.any([controller.signal, shutdown]);
}

/** Answers a unary call with `work`'s value, or with its failure mapped by `toError`. */
export function answer<T>(
  work: () => Promise<T>,
  callback: sendUnaryData<T>,
  toError: (error: unknown) => AxonServiceError,
): void {
  work().then((value) => callback(null, value), (error) => callback(toError(error)));
}
