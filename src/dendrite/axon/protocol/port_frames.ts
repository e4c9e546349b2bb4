/**
 * The frames of a handler stream over a `MessagePort` (a handler on another thread of the server's process):
 * shared by the connector's end (`port_stream.ts`) and soma's (`src/soma/port_call.ts`).
 *
 * @module
 */

/**
 * What one end of a port stream posts to the other.
 *
 * @example
 * ```ts
 * import type { PortStreamFrame } from "./port_frames.ts";
 * const frame: PortStreamFrame<string> = { kind: "message", message: "hello" };
 * new MessageChannel().port1.postMessage(frame);
 * ```
 */
export type PortStreamFrame<M> =
  | { readonly kind: "message"; readonly message: M }
  /** The sender half-closes (client) or ends the stream (server). */
  | { readonly kind: "end" }
  /** The client abandons the stream. */
  | { readonly kind: "cancel" }
  /** The server took `count` more of the client's messages: the client may send that many more. */
  | { readonly kind: "credit"; readonly count: number };

/**
 * How many messages a port stream's client may send before the server took them (see {@link PortStreamFrame}'s
 * `credit`). The server grants credit back once its event loop has had a turn after taking them, so a handler on
 * another thread cannot run ahead of the server's thread by more than this: its updates wait in its own thread
 * (`BidiStream.drained`) instead of flooding the server's subscribers' buffers in one turn.
 *
 * @example
 * ```ts
 * import { PORT_STREAM_WINDOW } from "./port_frames.ts";
 * console.log(PORT_STREAM_WINDOW); // 64
 * ```
 */
export const PORT_STREAM_WINDOW = 64;
