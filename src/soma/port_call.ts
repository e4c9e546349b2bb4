/**
 * soma's end of a handler stream over a `MessagePort` (see `dendrite/axon/port_stream.ts`): the events and
 * writes of a grpc-js server call, as {@link HandlerStream} uses them, for a handler on another thread of
 * soma's process. It gives the client credit for the messages it took once its event loop had a turn after
 * taking them (a timer), so the client's thread cannot run ahead of this one by more than the stream's window.
 *
 * @module
 */
import { EventEmitter } from "node:events";
import type { PortStreamFrame } from "../dendrite/axon/protocol/port_frames.ts";
import type { HandlerStreamCall } from "./handler_stream.ts";

/**
 * The server end of a stream over `port`: `data` for each request, `end` when the client half-closes,
 * `cancelled` when it abandons the stream, `close` once it is over either way. `end()` ends it from here.
 *
 * @example
 * ```ts
 * import { PortCall } from "./port_call.ts";
 * const { port1 } = new MessageChannel();
 * const call = new PortCall<string, string>(port1);
 * call.on("data", (message) => call.write(message));
 * call.end();
 * ```
 */
export class PortCall<I, O> extends EventEmitter implements HandlerStreamCall<I, O> {
  readonly #port: MessagePort;
  #open = true;
  /** Messages taken since the last credit. */
  #taken = 0;
  #granting = false;

  /** Takes `port`'s messages from now on. */
  constructor(port: MessagePort) {
    super();
    this.#port = port;
    port.onmessage = (event: MessageEvent<PortStreamFrame<I>>) => {
      const frame = event.data;
      if (frame.kind === "message") {
        this.emit("data", frame.message);
        this.#took();
      } else if (frame.kind === "end") this.emit("end");
      else if (frame.kind === "cancel") this.cancel();
    };
  }

  /** Posts a message to the client; false once the stream is over. */
  write(message: O): boolean {
    if (!this.#open) return false;
    const frame: PortStreamFrame<O> = { kind: "message", message };
    this.#port.postMessage(frame);
    return true;
  }

  /** Ends the stream: the client's reader sees its end. */
  end(): void {
    if (!this.#open) return;
    const frame: PortStreamFrame<O> = { kind: "end" };
    this.#port.postMessage(frame);
    this.#close();
  }

  /** The client is gone (its thread ended): the stream is over, as if it had cancelled. */
  cancel(): void {
    if (!this.#open) return;
    this.emit("cancelled");
    this.#close();
  }

  /** Gives credit for what was taken after the next turn of the event loop (sockets, timers) has come. */
  #took(): void {
    this.#taken++;
    if (this.#granting) return;
    this.#granting = true;
    setTimeout(() => {
      this.#granting = false;
      const count = this.#taken;
      this.#taken = 0;
      if (!this.#open) return;
      const frame: PortStreamFrame<O> = { kind: "credit", count };
      this.#port.postMessage(frame);
    }, 0);
  }

  #close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#port.close();
    this.emit("close");
  }
}
