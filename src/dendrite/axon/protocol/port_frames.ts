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
  | { readonly kind: "cancel" };
