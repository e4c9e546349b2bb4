/**
 * Socket writes gathered per turn of the event loop, for HTTP/2 connections served or opened through
 * `node:http2` (grpc-js on both ends).
 *
 * Deno's `node:http2` hands every frame nghttp2 produces to `socket.write` as soon as it is made, and every such
 * write is a system call of its own: a unary answer costs three (HEADERS, DATA, the trailers' HEADERS), a call
 * two or three, and each wakes the peer. (Node's own HTTP/2 gathers a turn's frames before it writes.)
 * {@link gatherWrites} corks the socket at its first write of a turn and uncorks it in the loop's check phase,
 * so that everything written in that turn leaves in one `writev`. Nothing waits longer than the turn it was
 * written in, `end()` still flushes at once, and a write still reports back-pressure as before.
 *
 * @module
 */
import type { Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";

type Write = Socket["write"];

/**
 * Makes `socket` gather what is written to it in one turn of the event loop into one system call.
 *
 * @example
 * ```ts
 * import { createServer } from "node:net";
 * import { gatherWrites } from "./gathered_writes.ts";
 * const server = createServer((socket) => {
 *   gatherWrites(socket);
 *   socket.write("two writes, ");
 *   socket.end("one system call");
 * });
 * server.close();
 * ```
 */
export function gatherWrites(socket: Socket): void {
  const write: Write = socket.write;
  let corked = false;
  const flush = () => {
    corked = false;
    socket.uncork();
  };
  const gathered = function (this: Socket, ...args: Parameters<Write>): boolean {
    if (!corked && !socket.writableEnded) {
      corked = true;
      socket.cork();
      setImmediate(flush);
    }
    return Reflect.apply(write, this, args);
  };
  Object.defineProperty(socket, "write", { value: gathered, writable: true, configurable: true });
}

/**
 * Channel credentials for a grpc-js client whose connections gather their writes ({@link gatherWrites}); every
 * other behaviour is `inner`'s (TLS, its checks, composed call credentials).
 *
 * @example
 * ```ts
 * import * as grpc from "@grpc/grpc-js";
 * import { GatheringCredentials } from "./gathered_writes.ts";
 * const client = new grpc.Client("127.0.0.1:8124", new GatheringCredentials(grpc.credentials.createInsecure()));
 * client.close();
 * ```
 */
export class GatheringCredentials extends grpc.ChannelCredentials {
  readonly #inner: grpc.ChannelCredentials;

  /** Wraps `inner`. */
  constructor(inner: grpc.ChannelCredentials) {
    super();
    this.#inner = inner;
  }

  /** Whether the inner credentials are secure. */
  override _isSecure(): boolean {
    return this.#inner._isSecure();
  }

  /** Equal to gathering credentials around equal inner ones (grpc-js then shares their connections). */
  override _equals(other: grpc.ChannelCredentials): boolean {
    return other === this || (other instanceof GatheringCredentials && this.#inner._equals(other.#inner));
  }

  /** The inner connector, whose connected socket gathers its writes. */
  override _createSecureConnector(
    ...args: Parameters<grpc.ChannelCredentials["_createSecureConnector"]>
  ): ReturnType<grpc.ChannelCredentials["_createSecureConnector"]> {
    const connector = this.#inner._createSecureConnector(...args);
    return {
      connect: async (socket) => {
        const result = await connector.connect(socket);
        gatherWrites(result.socket);
        return result;
      },
      waitForReady: () => connector.waitForReady(),
      getCallCredentials: () => connector.getCallCredentials(),
      destroy: () => connector.destroy(),
    };
  }
}
