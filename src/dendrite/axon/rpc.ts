/**
 * Typed gRPC calls on `@grpc/grpc-js` from protoc-gen-es method descriptors: unary, server-, client- and bidi
 * streaming, with the Axon headers on every call, cancellation by `AbortSignal`, and gRPC failures turned into
 * dendrite errors (the `AxonIQ-ErrorCode` trailer gives the code).
 *
 * @module
 */
import type { DescMethod, MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import { deserializer, serializer } from "./protocol/grpc.ts";
import { Channel, ChannelOverflowError } from "../core/channel.ts";
import { abortReason, AxonErrorCode, ConcurrencyError, DendriteError, RemoteError } from "../core/errors.ts";

/** A method descriptor of a given shape. */
type Method<K extends DescMethod["methodKind"]> = DescMethod & { readonly methodKind: K };

/** The gRPC path of a method: `/package.Service/Method`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** The client-side codecs of a method: its request serializer and response deserializer. */
function codecsOf<M extends DescMethod>(method: M) {
  return {
    serialize: serializer(method.input) as (message: MessageShape<M["input"]>) => Buffer,
    deserialize: deserializer(method.output) as (bytes: Buffer) => MessageShape<M["output"]>,
  };
}

/** The Axon error code in a gRPC failure's trailers, if any. */
export function axonErrorCode(error: grpc.ServiceError): string | undefined {
  const value = error.metadata?.get("axoniq-errorcode")[0];
  return typeof value === "string" ? value : undefined;
}

/** gRPC failure → dendrite error. */
export function fromGrpcError(error: unknown, what: string): Error {
  if (!isServiceError(error)) return error instanceof Error ? error : new Error(String(error));
  const code = axonErrorCode(error);
  const message = `${what}: ${error.details || grpc.status[error.code]}`;
  if (code === AxonErrorCode.INVALID_SEQUENCE) return new ConcurrencyError(message, { cause: error });
  if (code) return new RemoteError(code, message);
  return new GrpcError(error.code, message, { cause: error });
}

/**
 * A gRPC failure without an Axon code (transport, unavailable, deadline…), keeping the status.
 *
 * @example
 * ```ts
 * import { status } from "@grpc/grpc-js";
 * import { GrpcError } from "./rpc.ts";
 * const error = new GrpcError(status.UNAVAILABLE, "Not connected to Axon Server at localhost:8124");
 * ```
 */
export class GrpcError extends DendriteError {
  /** The gRPC status code of the failure. */
  readonly status: grpc.status;
  /** A failure with gRPC `status` and a message. */
  constructor(status: grpc.status, message: string, options?: ErrorOptions) {
    super(AxonErrorCode.OTHER, message, options);
    this.status = status;
  }
}

export function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === "number" &&
    "metadata" in error;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Deadline in ms from now. */
  readonly timeoutMs?: number;
}

/**
 * A bidi stream: send requests, iterate responses, end or cancel.
 *
 * @example
 * ```ts
 * import type { BidiStream } from "./rpc.ts";
 * async function echo(stream: BidiStream<string, string>): Promise<void> {
 *   for await (const message of stream.responses) stream.send(message);
 *   stream.end();
 * }
 * ```
 */
export interface BidiStream<I, O> {
  /**
   * Sends a request (never dropped while the stream is open: beyond the stream's window it waits in a buffer).
   * When more than the stream's limit of sent requests wait for the server ({@link UNSENT_LIMIT}), the stream
   * fails with a `ChannelOverflowError` instead (its responses end with it) and the connection starts over.
   */
  send(message: I): void;
  /**
   * Resolves once what was sent fits the stream's window again (at once when it does, or when the stream is
   * over): a sender that awaits it between bursts cannot queue without bound in its own process.
   */
  drained(): Promise<void>;
  /** Half-closes the request side. */
  end(): void;
  /** Abandons the stream. */
  cancel(): void;
  readonly responses: AsyncIterable<O>;
}

/**
 * How many sent messages a bidi stream may hold that its server has not taken (as many as it holds received
 * messages its reader has not taken): beyond it the stream fails instead of growing without bound.
 *
 * @example
 * ```ts
 * import { UNSENT_LIMIT } from "./rpc.ts";
 * console.log(UNSENT_LIMIT); // 100000
 * ```
 */
export const UNSENT_LIMIT = 100_000;

/** Makes calls on one grpc-js channel with fixed headers. */
export class Rpc {
  readonly client: grpc.Client;
  readonly #headers: () => grpc.Metadata;
  readonly #active = new Set<grpc.Call>();
  readonly #settled = new Set<() => void>();

  constructor(client: grpc.Client, headers: () => grpc.Metadata) {
    this.client = client;
    this.#headers = headers;
  }

  /** Tracks a call until grpc-js reports its final status. */
  #track<C extends grpc.Call>(call: C): C {
    this.#active.add(call);
    call.on("status", () => {
      this.#active.delete(call);
      if (this.#active.size === 0) { for (const wake of [...this.#settled]) wake(); }
    });
    return call;
  }

  /**
   * Resolves once every call made here has its final status (or after `timeoutMs`). Closing the channel only then
   * avoids a GOAWAY racing streams that are still being cancelled, which can abort Deno inside nghttp2
   * on Deno 2.9.4–2.9.6 (denoland/deno#36788; the project pins 2.9.3).
   */
  settled(timeoutMs = 1_000): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#settled.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#settled.add(done);
    });
  }

  #options(options: CallOptions): grpc.CallOptions {
    return options.timeoutMs !== undefined ? { deadline: Date.now() + options.timeoutMs } : {};
  }

  /**
   * A call that answers once through a callback (unary, client streaming): `start` makes the call with the
   * callback; the promise settles with the answer, the mapped error, or the signal's reason.
   */
  #answer<O>(
    name: string,
    options: CallOptions,
    start: (callback: grpc.requestCallback<O>) => grpc.Call,
  ): Promise<O> {
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(abortReason(options.signal));
      const call = this.#track(start((error, response) => {
        options.signal?.removeEventListener("abort", onAbort);
        if (error) reject(options.signal?.aborted ? abortReason(options.signal) : fromGrpcError(error, name));
        else resolve(response!);
      }));
      const onAbort = () => call.cancel();
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  unary<M extends Method<"unary">>(
    method: M,
    request: MessageShape<M["input"]>,
    options: CallOptions = {},
  ): Promise<MessageShape<M["output"]>> {
    const { serialize, deserialize } = codecsOf(method);
    return this.#answer(method.name, options, (callback) =>
      this.client.makeUnaryRequest(
        methodPath(method),
        serialize,
        deserialize,
        request,
        this.#headers(),
        this.#options(options),
        callback,
      ));
  }

  async *serverStream<M extends Method<"server_streaming">>(
    method: M,
    request: MessageShape<M["input"]>,
    options: CallOptions = {},
  ): AsyncIterable<MessageShape<M["output"]>> {
    options.signal?.throwIfAborted();
    const { serialize, deserialize } = codecsOf(method);
    const call = this.#track(this.client.makeServerStreamRequest(
      methodPath(method),
      serialize,
      deserialize,
      request,
      this.#headers(),
      this.#options(options),
    ));
    const onAbort = () => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const message of call) yield message as MessageShape<M["output"]>;
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      throw fromGrpcError(error, method.name);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  clientStream<M extends Method<"client_streaming">>(
    method: M,
    requests: readonly MessageShape<M["input"]>[],
    options: CallOptions = {},
  ): Promise<MessageShape<M["output"]>> {
    const { serialize, deserialize } = codecsOf(method);
    return this.#answer(method.name, options, (callback) => {
      const call = this.client.makeClientStreamRequest(
        methodPath(method),
        serialize,
        deserialize,
        this.#headers(),
        this.#options(options),
        callback,
      );
      for (const request of requests) call.write(request);
      call.end();
      return call;
    });
  }

  bidi<M extends Method<"bidi_streaming">>(
    method: M,
    options: CallOptions & { bufferSize?: number; unsentLimit?: number } = {},
  ): BidiStream<MessageShape<M["input"]>, MessageShape<M["output"]>> {
    const { serialize, deserialize } = codecsOf(method);
    const call = this.#track(this.client.makeBidiStreamRequest(
      methodPath(method),
      serialize,
      deserialize,
      this.#headers(),
      this.#options(options),
    ));
    const channel = new Channel<MessageShape<M["output"]>>(options.bufferSize ?? 100_000);
    let ended = false;
    call.on("data", (message: MessageShape<M["output"]>) => channel.push(message));
    call.on("error", (error: unknown) => {
      if (isServiceError(error) && error.code === grpc.status.CANCELLED && ended) channel.close();
      else channel.fail(fromGrpcError(error, method.name));
    });
    call.on("end", () => channel.close());
    const onAbort = () => {
      ended = true;
      call.cancel();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const unsentLimit = options.unsentLimit ?? UNSENT_LIMIT;
    return {
      send: (message) => {
        if (ended || call.writableEnded || call.destroyed) return;
        if (call.writableLength < unsentLimit) return void call.write(message);
        // The server takes nothing: fail the stream rather than queue without bound.
        ended = true;
        channel.fail(new ChannelOverflowError(unsentLimit));
        call.cancel();
      },
      drained: () => ended ? Promise.resolve() : drained(call),
      end: () => {
        if (!call.writableEnded) call.end();
      },
      cancel: () => {
        ended = true;
        call.cancel();
      },
      responses: channel.iterate(options.signal),
    };
  }
}

/** Once grpc-js's send buffer of `call` is under its high-water mark again, or the call is over. */
function drained<I, O>(call: grpc.ClientDuplexStream<I, O>): Promise<void> {
  if (!call.writableNeedDrain || call.writableEnded || call.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      for (const event of DRAIN_EVENTS) call.off(event, done);
      resolve();
    };
    for (const event of DRAIN_EVENTS) call.once(event, done);
  });
}

/** What ends a wait for room in a call's send buffer. */
const DRAIN_EVENTS = ["drain", "status", "close", "error"] as const;
