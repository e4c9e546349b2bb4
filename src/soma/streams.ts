/**
 * Stream helpers for grpc-js server calls.
 *
 * @module
 */
import grpcJsPackage from "@grpc/grpc-js/package.json" with { type: "json" };
import { abortReason } from "../dendrite/core/errors.ts";

/**
 * The grpc-js version whose internals {@link framedWriter} was written and tested against (the one deno.json
 * pins). On any other version it declines, and callers write message by message; `test/soma/streams_test.ts`
 * fails on an upgrade until the fast path is checked against the new internals and this constant is moved.
 */
export const FRAMED_WRITER_GRPC_JS = "1.14.7";

/** The version of the grpc-js package this program loads. */
export const GRPC_JS_VERSION: string = grpcJsPackage.version;

/**
 * Why {@link framedWriter} is not used with grpc-js `version` (default: the loaded one), or undefined when it is.
 * For a server to report once, at start, that its streams write message by message.
 */
export function framedWritesUnavailable(version: string = GRPC_JS_VERSION): string | undefined {
  if (version === FRAMED_WRITER_GRPC_JS) return undefined;
  return `grpc-js is ${version}, but framed writes were verified against ${FRAMED_WRITER_GRPC_JS} only: ` +
    "streams write one message per write (slower, same messages)";
}

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

/** Writes runs of encoded messages of one server-streaming call; see {@link framedWriter}. */
export interface FramedWriter {
  /** Writes the messages in order as one HTTP/2 write; false when the transport buffer is full (await drain). */
  write(messages: readonly Uint8Array[]): boolean;
  /** Resolves on the stream's next `drain`; rejects when `signal` aborts first. */
  drained(signal: AbortSignal): Promise<void>;
}

/** The parts of grpc-js's base server call (under its interceptors) that {@link framedWriter} uses. */
interface BaseServerCall {
  readonly stream: WritableCall<Uint8Array> & {
    write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  };
  maybeSendMetadata(): void;
  checkCancelled(): boolean;
}

function isBaseServerCall(value: unknown): value is BaseServerCall {
  if (typeof value !== "object" || value === null) return false;
  const call = value as Partial<Record<keyof BaseServerCall, unknown>>;
  const stream = call.stream as { write?: unknown; once?: unknown } | undefined;
  return typeof call.maybeSendMetadata === "function" && typeof call.checkCancelled === "function" &&
    typeof stream?.write === "function" && typeof stream.once === "function";
}

/**
 * grpc-js writes each message of a server stream with an HTTP/2 stream write of its own, and Deno's `node:http2`
 * sends each write with a syscall of its own (some 10 µs a message on loopback). For a call that streams many
 * small messages (soma's ListEvents), this writer puts a run of already-encoded messages, each with its gRPC
 * frame header (uncompressed), into one write: the framing on the wire is the same.
 *
 * It reaches the call's HTTP/2 stream through grpc-js internals (the base call under the interceptors, private
 * fields `call`, `nextCall`, `stream`, `maybeSendMetadata`, `checkCancelled`), so it is guarded twice: it returns
 * undefined on a grpc-js other than {@link FRAMED_WRITER_GRPC_JS} (`grpcJsVersion`, default the loaded one), and
 * when the internals are not as expected. Write through `call.write` then. It is only for calls whose
 * interceptors leave sent messages alone (soma's only look at requests and statuses). Once used, every message
 * of the call must go through it (a `call.write` may be buffered and land out of order).
 */
export function framedWriter(
  call: object,
  onError: (error: Error) => void,
  grpcJsVersion: string = GRPC_JS_VERSION,
): FramedWriter | undefined {
  if (framedWritesUnavailable(grpcJsVersion) !== undefined) return undefined;
  let base: unknown = (call as { readonly call?: unknown }).call;
  for (let depth = 0; depth < 8 && base && !isBaseServerCall(base); depth++) {
    base = (base as { nextCall?: unknown }).nextCall;
  }
  if (!isBaseServerCall(base)) return undefined;
  const target = base;
  return {
    write(messages) {
      if (messages.length === 0 || target.checkCancelled()) return true;
      let size = 0;
      for (const message of messages) size += 5 + message.length;
      const frames = new Uint8Array(size);
      const view = new DataView(frames.buffer);
      let offset = 0;
      for (const message of messages) {
        // Byte 0 stays 0: not compressed. Bytes 1–4: the length, big-endian.
        view.setUint32(offset + 1, message.length);
        frames.set(message, offset + 5);
        offset += 5 + message.length;
      }
      target.maybeSendMetadata();
      return target.stream.write(frames, (error) => {
        if (error) onError(error);
      });
    },
    drained: (signal) => drained(target.stream, signal),
  };
}
