/**
 * What soma's command and query handler streams (`OpenStream` of CommandService and QueryService) share: one
 * object per call that learns its client id from the first subscribe or flow control, registers itself with its
 * router as endpoint `clientId.connectionId` on first need, acknowledges instructions, and leaves the router when
 * the call ends, fails or soma closes it. Subclasses handle their side's requests.
 *
 * @module
 */
import { serveHandlerStream } from "./streams.ts";

/** The router operations a handler stream uses (CommandRouter and QueryRouter both have them). */
export interface EndpointRouter<E> {
  addEndpoint(endpoint: E, permits: number): void;
  removeEndpoint(streamId: string): void;
  grant(streamId: string, permits: number): void;
}

/** The grpc-js call of a handler stream, as the base uses it. */
export interface HandlerStreamCall<I, O> {
  write(message: O): boolean;
  end(): void;
  on(event: "data", listener: (message: I) => void): unknown;
  on(event: "end" | "cancelled" | "error" | "close", listener: () => void): unknown;
}

/**
 * Registers a handler stream so soma can close it (shutdown, client dropped) and tell when it last received a
 * message (a client whose streams deliver is alive, whatever its heartbeats are stuck behind); returns an
 * unregister.
 */
export type TrackStream = (clientId: () => string, close: () => void, lastData?: () => number) => () => void;

/** Options every handler stream gets from its service. */
export interface HandlerStreamOptions {
  readonly nodeName: string;
  readonly track: TrackStream;
}

/**
 * One handler stream.
 *
 * @example
 * ```ts ignore
 * class MyStream extends HandlerStream<In, Out, Endpoint, Router> { … }
 * new MyStream(call, router, options).serve();
 * ```
 */
export abstract class HandlerStream<
  I extends { readonly instructionId: string },
  O,
  E,
  R extends EndpointRouter<E> = EndpointRouter<E>,
> {
  protected readonly call: HandlerStreamCall<I, O>;
  protected readonly router: R;
  readonly #connectionId = crypto.randomUUID();
  readonly #nodeName: string;
  readonly #untrack: () => void;
  #clientId = "";
  #streamId = "";
  #closed = false;
  /** When the last message arrived (epoch ms). */
  #lastData = 0;

  constructor(call: HandlerStreamCall<I, O>, router: R, options: HandlerStreamOptions) {
    this.call = call;
    this.router = router;
    this.#nodeName = options.nodeName;
    this.#untrack = options.track(() => this.#clientId, () => this.close(), () => this.#lastData);
  }

  /** The client id the handler gave (empty until its first subscribe or flow control). */
  get clientId(): string {
    return this.#clientId;
  }

  /** The endpoint's id, empty until it registered with the router. */
  get streamId(): string {
    return this.#streamId;
  }

  /** Starts taking the call's messages. */
  serve(): void {
    serveHandlerStream(this.call, {
      handle: (message) => {
        this.#lastData = Date.now();
        return this.handle(message);
      },
      ack: (instructionId, supported) => this.sendAck(instructionId, supported, this.#nodeName),
      close: () => this.close(),
    });
  }

  /** Ends the stream and leaves the router (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#untrack();
    if (this.#streamId !== "") this.router.removeEndpoint(this.#streamId);
    this.call.end();
  }

  /** Handles one message: true (supported), false (unsupported: AXONIQ-1002) or undefined for an ack. */
  protected abstract handle(message: I): boolean | undefined;

  /** Sends the ack of an instruction. */
  protected abstract sendAck(instructionId: string, supported: boolean, nodeName: string): void;

  /** The router endpoint of this stream, with its id. */
  protected abstract endpointOf(streamId: string): E;

  /** Writes to the handler unless the stream was closed. */
  protected write(message: O): void {
    if (!this.#closed) this.call.write(message);
  }

  /** Keeps the first client id the handler gives. */
  protected identify(clientId: string): void {
    this.#clientId ||= clientId;
  }

  /** This stream's endpoint id, registering the endpoint (without permits) on first use. */
  protected endpoint(): string {
    if (this.#streamId !== "") return this.#streamId;
    this.#streamId = `${this.#clientId}.${this.#connectionId}`;
    this.router.addEndpoint(this.endpointOf(this.#streamId), 0);
    return this.#streamId;
  }

  /** `FlowControl` from the handler: more permits for this endpoint. */
  protected grant(clientId: string, permits: bigint): void {
    this.identify(clientId);
    this.router.grant(this.endpoint(), Number(permits));
  }
}
