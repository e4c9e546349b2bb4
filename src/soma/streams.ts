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

/** What a handler stream's messages carry (command and query provider streams alike). */
interface InstructionMessage {
  readonly instructionId: string;
}

/** The call side of a handler stream, as {@link serveHandlerStream} uses it. */
interface HandlerCall<I> {
  on(event: "data", listener: (message: I) => void): unknown;
  on(event: "end" | "cancelled" | "error" | "close", listener: () => void): unknown;
}

/**
 * The lifecycle shared by the command and query handler streams: each message goes to `handle`, which says whether
 * its request is supported (`undefined` for an ack, which is not acknowledged itself); every message with an
 * instruction id is acknowledged through `ack` (unsupported ones with AXONIQ-1002); `close` runs when the call
 * ends, fails or is cancelled.
 */
export function serveHandlerStream<I extends InstructionMessage>(
  call: HandlerCall<I>,
  options: {
    handle(message: I): boolean | undefined;
    ack(instructionId: string, supported: boolean): void;
    close(): void;
  },
): void {
  call.on("data", (message: I) => {
    const supported = options.handle(message);
    if (supported !== undefined && message.instructionId !== "") {
      options.ack(message.instructionId, supported);
    }
  });
  for (const event of ["end", "cancelled", "error", "close"] as const) call.on(event, options.close);
}
