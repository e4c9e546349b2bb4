/**
 * One TCP port for HTTP/1.1 and HTTP/2. In cleartext, the first bytes of a connection decide: the HTTP/2
 * connection preface (`PRI * HTTP/2.0…`, "prior knowledge", as gRPC clients send it) goes to an HTTP/2 server,
 * anything else to an HTTP/1.1 server. With TLS, ALPN decides (`http2.createSecureServer` with `allowHTTP1`).
 *
 * `close()` shuts down gracefully: stop accepting, let HTTP/2 sessions finish their streams (GOAWAY), close idle
 * HTTP/1.1 connections and busy ones after their response, then destroy whatever is left after the deadline.
 *
 * @module
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type tls from "node:tls";
import { Buffer } from "node:buffer";
import {
  closeWhenIdle,
  closeWhenUnresponsive,
  type ConnectionLimits,
  HeadTimers,
  resolveLimits,
} from "./limits.ts";

/** A request handler for both protocols (node:http and the node:http2 compatibility API). */
export type NodeHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of {@link listen}. */
export interface ListenOptions {
  readonly port: number;
  /** Default: all interfaces. */
  readonly hostname?: string;
  /** PEM certificate chain and key: serve TLS (HTTP/2 and HTTP/1.1 by ALPN). */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly handler: NodeHandler;
  /** Timeouts and caps of connections (unset ones: `DEFAULT_LIMITS`). */
  readonly limits?: { readonly [K in keyof ConnectionLimits]?: number | undefined };
}

/** A listening port. */
export interface Listener {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Number of requests that have not finished yet. */
  readonly inFlight: number;
  /** Whether `close()` was called. */
  readonly closing: boolean;
  /** Graceful shutdown; connections still open after `deadlineMs` are destroyed. */
  close(deadlineMs?: number): Promise<void>;
}

/** How long a stream whose answer is complete may keep sending its request before it is reset. */
const RESET_GRACE_MS = 1_000;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** `h2` when `head` is (a prefix of) the HTTP/2 preface, `h1` when it cannot be, `undefined` when undecided. */
export function sniffProtocol(head: Uint8Array): "h1" | "h2" | undefined {
  const n = Math.min(head.length, PREFACE.length);
  for (let i = 0; i < n; i++) if (head[i] !== PREFACE[i]) return "h1";
  return head.length >= PREFACE.length ? "h2" : undefined;
}

/**
 * Listens on one port for HTTP/1.1 and HTTP/2 (cleartext prior knowledge, or TLS with ALPN).
 *
 * @example
 * ```ts ignore
 * const listener = await listen({ port: 0, handler: (req, res) => res.end("ok") });
 * await listener.close();
 * ```
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  const limits = resolveLimits(options.limits);
  const heads = new HeadTimers(limits.headersTimeoutMs);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  /** Sockets that carry HTTP/2 (their sessions are closed with GOAWAY instead). */
  const h2Sockets = new Set<net.Socket>();
  /** HTTP/1.1 sockets with the number of their unfinished requests. */
  const h1Busy = new Map<net.Socket, number>();
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const track = (request: http.IncomingMessage | http2.Http2ServerRequest, response: NodeResponse) => {
    inFlight++;
    const h1Socket = request.httpVersionMajor === 1 ? request.socket as net.Socket : undefined;
    if (h1Socket) {
      heads.disarm(h1Socket);
      h1Busy.set(h1Socket, (h1Busy.get(h1Socket) ?? 0) + 1);
      if (closing && !response.headersSent) response.setHeader("connection", "close");
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight--;
      if (h1Socket) {
        const left = (h1Busy.get(h1Socket) ?? 1) - 1;
        if (left > 0) h1Busy.set(h1Socket, left);
        else {
          h1Busy.delete(h1Socket);
          if (closing) h1Socket.destroySoon();
          else heads.arm(h1Socket);
        }
      }
      if (inFlight === 0) drained?.();
    };
    response.once("finish", finish);
    response.once("close", finish);
    if ("stream" in response) {
      // The answer is complete but the client may still be sending (e.g. a message over the size limit that was
      // refused early) and waits for flow-control credit that never comes: reset the stream (CANCEL; Deno's
      // node:http2 does not send a NO_ERROR reset on a half-closed stream). After a grace period, because the
      // runtime may otherwise send the reset before the trailers.
      const stream = response.stream;
      stream.once("finish", () => {
        if (request.complete || stream.closed) return;
        const timer = setTimeout(() => {
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        }, RESET_GRACE_MS);
        stream.once("close", () => clearTimeout(timer));
      });
    }
    options.handler(request, response);
  };

  const onSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.on("error", () => {});
    if (closing) session.close();
    else {
      closeWhenIdle(session, limits.idleTimeoutMs);
      closeWhenUnresponsive(session, limits.keepAliveTimeMs, limits.keepAliveTimeoutMs);
    }
  };

  const h2Options = { settings: { maxConcurrentStreams: limits.maxStreamsPerConnection } };
  let server: net.Server | tls.Server;
  if (options.tls) {
    const secure = http2.createSecureServer({
      ...h2Options,
      ...options.tls,
      allowHTTP1: true,
      handshakeTimeout: limits.headersTimeoutMs,
    }, track);
    secure.on("session", onSession);
    secure.on("secureConnection", (socket: tls.TLSSocket) => {
      addSocket(socket);
      if (socket.alpnProtocol === "h2") h2Sockets.add(socket);
      else heads.arm(socket);
    });
    secure.on("tlsClientError", () => {});
    server = secure;
  } else {
    const h1 = http.createServer(track);
    h1.on("clientError", (_error: Error, socket: net.Socket) => socket.destroy());
    // This server never listens itself: it gets its sockets from the sniffer below. Deno's node:http destroys a
    // socket after each response when its server is not `listening` (keep-alive announced, then a reset on the
    // next request), so it reports the outer server's state instead.
    Object.defineProperty(h1, "listening", { get: () => !closing });
    const h2 = http2.createServer(h2Options, track);
    h2.on("session", onSession);
    server = net.createServer((socket) => {
      addSocket(socket);
      if (closing) return void socket.destroy();
      const accepted = performance.now();
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
      const onReadable = () => {
        let chunk: Buffer | null;
        while ((chunk = socket.read()) !== null) head = Buffer.concat([head, chunk]);
        const protocol = sniffProtocol(head);
        if (protocol === undefined) return;
        clearTimeout(timer);
        socket.off("readable", onReadable);
        socket.off("end", onEnd);
        socket.unshift(head);
        if (protocol === "h2") h2Sockets.add(socket);
        else heads.arm(socket, performance.now() - accepted);
        (protocol === "h2" ? h2 : h1).emit("connection", socket);
      };
      const onEnd = () => {
        clearTimeout(timer);
        socket.destroy();
      };
      socket.on("readable", onReadable);
      socket.once("end", onEnd);
    });
  }

  function addSocket(socket: net.Socket) {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => {
      sockets.delete(socket);
      h2Sockets.delete(socket);
      h1Busy.delete(socket);
    });
  }

  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;

  let closed: Promise<void> | undefined;
  return {
    port,
    get inFlight() {
      return inFlight;
    },
    get closing() {
      return closing;
    },
    close(deadlineMs = 10_000) {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const session of sessions) session.close();
        for (const socket of sockets) {
          // HTTP/1.1 connections without an unfinished request (including undecided ones) can go now.
          if (!h1Busy.has(socket) && !h2Sockets.has(socket)) socket.destroy();
        }
        if (inFlight > 0) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([
            new Promise<void>((resolve) => (drained = resolve)),
            new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
          ]);
          clearTimeout(timer);
        }
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closed;
    },
  };
}

type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
