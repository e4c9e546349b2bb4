/**
 * Stream helpers for grpc-js server calls.
 *
 * @module
 */
import { abortReason } from "../dendrite/mod.ts";

/** The writable side of a grpc-js server stream. */
export interface WritableCall<T> {
  write(message: T): boolean;
  once(event: "drain", listener: () => void): unknown;
  removeListener(event: "drain", listener: () => void): unknown;
}

/** Writes a message; when the transport buffer is full, waits for it to drain (or for `signal` to abort). */
export function writeWithBackpressure<T>(
  call: WritableCall<T>,
  message: T,
  signal: AbortSignal,
): Promise<void> {
  if (call.write(message)) return Promise.resolve();
  return drained(call, signal);
}

/** Resolves on the call's next `drain`; rejects when `signal` aborts first. */
export function drained<T>(call: WritableCall<T>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      call.removeListener("drain", onDrain);
      reject(abortReason(signal));
    };
    call.once("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
