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
import { boundSendBuffer, countSentData, type SentDataCounter } from "./h2_send_buffer.ts";
import { gatherWrites } from "../dendrite/core/gathered_writes.ts";
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
  const listener = new PortListener(options);
  await listener.bind(options.port, options.hostname);
  return listener;
}

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** One listening port: the server(s) behind it, its connections and its requests in flight. */
class PortListener implements Listener {
  readonly #handler: NodeHandler;
  readonly #limits: ConnectionLimits;
  readonly #heads: HeadTimers;
  readonly #server: net.Server | tls.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  /** What each HTTP/2 connection sent per stream, for {@link boundSendBuffer}. */
  readonly #sentData = new WeakMap<http2.Http2Session, SentDataCounter>();
  /** The counter of the socket being handed to node:http2 (its session is created while it is handed). */
  #handing: SentDataCounter | undefined;
  /** Sockets that carry HTTP/2 (their sessions are closed with GOAWAY instead). */
  readonly #h2Sockets = new Set<net.Socket>();
  /** HTTP/1.1 sockets with the number of their unfinished requests. */
  readonly #h1Busy = new Map<net.Socket, number>();
  #port = 0;
  #inFlight = 0;
  #closing = false;
  #drained: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: ListenOptions) {
    this.#handler = options.handler;
    this.#limits = resolveLimits(options.limits);
    this.#heads = new HeadTimers(this.#limits.headersTimeoutMs);
    this.#server = options.tls ? this.#secureServer(options.tls) : this.#cleartextServer();
    this.#server.maxConnections = this.#limits.maxConnections;
  }

  get port(): number {
    return this.#port;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Binds the port; resolves once it listens. */
  async bind(port: number, hostname: string | undefined): Promise<void> {
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, hostname, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    this.#port = typeof address === "object" && address !== null ? address.port : port;
  }

  close(deadlineMs = 10_000): Promise<void> {
    this.#closed ??= this.#shutDown(deadlineMs);
    return this.#closed;
  }

  async #shutDown(deadlineMs: number): Promise<void> {
    this.#closing = true;
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.close();
    for (const socket of this.#sockets) {
      // HTTP/1.1 connections without an unfinished request (including undecided ones) can go now.
      if (!this.#h1Busy.has(socket) && !this.#h2Sockets.has(socket)) socket.destroy();
    }
    if (this.#inFlight > 0) await this.#drain(deadlineMs);
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await stopped;
  }

  /** Resolves when no request is in flight any more, or after `deadlineMs`. */
  async #drain(deadlineMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.#drained = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
    ]);
    clearTimeout(timer);
  }

  /** TLS: ALPN picks HTTP/2 or HTTP/1.1. */
  #secureServer(pem: { readonly cert: string; readonly key: string }): tls.Server {
    const secure = http2.createSecureServer({
      ...this.#h2Options(),
      ...pem,
      allowHTTP1: true,
      handshakeTimeout: this.#limits.headersTimeoutMs,
    }, (request, response) => this.#track(request, response));
    secure.on("session", (session) => this.#onSession(session));
    secure.prependListener("secureConnection", (socket: tls.TLSSocket) => {
      if (socket.alpnProtocol !== "h2") return;
      gatherWrites(socket);
      this.#handing = countSentData(socket);
    });
    secure.on("secureConnection", (socket: tls.TLSSocket) => {
      this.#handing = undefined;
      this.#addSocket(socket);
      if (socket.alpnProtocol === "h2") this.#h2Sockets.add(socket);
      else this.#heads.arm(socket);
    });
    secure.on("tlsClientError", () => {});
    return secure;
  }

  /** Cleartext: the first bytes pick HTTP/2 (the preface) or HTTP/1.1; both servers get sockets from here. */
  #cleartextServer(): net.Server {
    const h1 = http.createServer((request, response) => this.#track(request, response));
    h1.on("clientError", (_error: Error, socket: net.Socket) => socket.destroy());
    // This server never listens itself: it gets its sockets from the sniffer below. Deno's node:http destroys a
    // socket after each response when its server is not `listening` (keep-alive announced, then a reset on the
    // next request), so it reports the outer server's state instead.
    Object.defineProperty(h1, "listening", { get: () => !this.#closing });
    const h2 = http2.createServer(this.#h2Options(), (request, response) => this.#track(request, response));
    h2.on("session", (session) => this.#onSession(session));
    return net.createServer((socket) => {
      this.#addSocket(socket);
      if (this.#closing) return void socket.destroy();
      awaitProtocol(socket, this.#limits.headersTimeoutMs, (protocol, waitedMs) => {
        if (protocol === "h1") {
          this.#heads.arm(socket, waitedMs);
          return void h1.emit("connection", socket);
        }
        this.#h2Sockets.add(socket);
        gatherWrites(socket);
        this.#handing = countSentData(socket);
        h2.emit("connection", socket);
        this.#handing = undefined;
      });
    });
  }

  #h2Options(): http2.ServerOptions {
    return { settings: { maxConcurrentStreams: this.#limits.maxStreamsPerConnection } };
  }

  #addSocket(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => {
      this.#sockets.delete(socket);
      this.#h2Sockets.delete(socket);
      this.#h1Busy.delete(socket);
    });
  }

  #onSession(session: http2.ServerHttp2Session): void {
    this.#sessions.add(session);
    if (this.#handing) this.#sentData.set(session, this.#handing);
    session.once("close", () => this.#sessions.delete(session));
    session.on("error", () => {});
    if (this.#closing) return void session.close();
    closeWhenIdle(session, this.#limits.idleTimeoutMs);
    closeWhenUnresponsive(session, this.#limits.keepAliveTimeMs, this.#limits.keepAliveTimeoutMs);
  }

  /** Counts the request in flight until its response finishes (or closes), then hands it to the handler. */
  #track(request: NodeRequest, response: NodeResponse): void {
    this.#inFlight++;
    const h1Socket = request.httpVersionMajor === 1 ? request.socket as net.Socket : undefined;
    if (h1Socket) {
      this.#heads.disarm(h1Socket);
      this.#h1Busy.set(h1Socket, (this.#h1Busy.get(h1Socket) ?? 0) + 1);
      if (this.#closing && !response.headersSent) response.setHeader("connection", "close");
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.#finished(h1Socket);
    };
    response.once("finish", finish);
    response.once("close", finish);
    if ("stream" in response) {
      resetUnreadUpload(request, response.stream);
      const sent = response.stream.session && this.#sentData.get(response.stream.session);
      if (sent) boundSendBuffer(response, sent);
    }
    this.#handler(request, response);
  }

  /** A request finished: its HTTP/1.1 connection waits for the next head, or goes when the port is closing. */
  #finished(h1Socket: net.Socket | undefined): void {
    this.#inFlight--;
    if (h1Socket) {
      const left = (this.#h1Busy.get(h1Socket) ?? 1) - 1;
      if (left > 0) this.#h1Busy.set(h1Socket, left);
      else {
        this.#h1Busy.delete(h1Socket);
        if (this.#closing) h1Socket.destroySoon();
        else this.#heads.arm(h1Socket);
      }
    }
    if (this.#inFlight === 0) this.#drained?.();
  }
}

/**
 * Reads the first bytes of a cleartext connection until they decide the protocol, puts them back and calls
 * `decided` (with how long that took); destroys the socket if it ends or stays undecided for `timeoutMs`.
 */
function awaitProtocol(
  socket: net.Socket,
  timeoutMs: number,
  decided: (protocol: "h1" | "h2", waitedMs: number) => void,
): void {
  const accepted = performance.now();
  let head = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onReadable = () => {
    let chunk: Buffer | null;
    while ((chunk = socket.read()) !== null) head = Buffer.concat([head, chunk]);
    const protocol = sniffProtocol(head);
    if (protocol === undefined) return;
    clearTimeout(timer);
    socket.off("readable", onReadable);
    socket.off("end", onEnd);
    socket.unshift(head);
    decided(protocol, performance.now() - accepted);
  };
  const onEnd = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  socket.on("readable", onReadable);
  socket.once("end", onEnd);
}

/**
 * The answer is complete but the client may still be sending (e.g. a message over the size limit that was
 * refused early) and waits for flow-control credit that never comes: reset the stream (CANCEL; Deno's
 * node:http2 does not send a NO_ERROR reset on a half-closed stream). After a grace period, because the
 * runtime may otherwise send the reset before the trailers.
 */
function resetUnreadUpload(request: NodeRequest, stream: http2.ServerHttp2Stream): void {
  stream.once("finish", () => {
    if (request.complete || stream.closed) return;
    const timer = setTimeout(() => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    }, RESET_GRACE_MS);
    stream.once("close", () => clearTimeout(timer));
  });
}
