/**
 * Connection limits of the API port: how long a client may take to send a request head, how long an HTTP/2
 * connection may stay without an open stream, how long its peer may take to answer a keepalive PING, how many
 * connections the port holds and how many streams one
 * HTTP/2 connection may have open. A slow or idle client is closed; the others keep being served.
 *
 * @module
 */
import type http2 from "node:http2";
import type net from "node:net";

/** The limits (every field in {@link DEFAULT_LIMITS}). */
export interface ConnectionLimits {
  /**
   * A connection must deliver a complete HTTP/1.1 request head (or the HTTP/2 preface) this long after it opened
   * or after its previous answer; otherwise it is closed.
   */
  readonly headersTimeoutMs: number;
  /** An HTTP/2 connection with no open stream for this long is closed (GOAWAY). */
  readonly idleTimeoutMs: number;
  /** Connections beyond this many are closed as soon as they are accepted. */
  readonly maxConnections: number;
  /** Concurrent streams one HTTP/2 connection may have open (advertised in SETTINGS). */
  readonly maxStreamsPerConnection: number;
  /** The server sends an HTTP/2 PING this long after the previous one was answered (or the preface). */
  readonly keepAliveTimeMs: number;
  /** An HTTP/2 connection whose peer does not answer a PING this soon is closed (with its streams). */
  readonly keepAliveTimeoutMs: number;
}

/** The defaults. */
export const DEFAULT_LIMITS: Readonly<ConnectionLimits> = {
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnections: 4_096,
  maxStreamsPerConnection: 1_000,
  keepAliveTimeMs: 60_000,
  keepAliveTimeoutMs: 20_000,
};

/** How long a session told to go away (idle) may take to close before it is destroyed. */
const GOAWAY_GRACE_MS = 1_000;

/**
 * Closes an HTTP/1.1 connection that does not complete a request head in time: armed when the connection is
 * handed over and after each answer, disarmed when a request head is complete.
 */
export class HeadTimers {
  readonly #timers = new Map<net.Socket, ReturnType<typeof setTimeout>>();
  readonly #watched = new WeakSet<net.Socket>();
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Starts (or restarts) the wait for the next request head on `socket`. */
  arm(socket: net.Socket, elapsedMs = 0): void {
    this.disarm(socket);
    const timer = setTimeout(() => {
      this.#timers.delete(socket);
      socket.destroy();
    }, Math.max(0, this.#timeoutMs - elapsedMs));
    this.#timers.set(socket, timer);
    if (!this.#watched.has(socket)) {
      this.#watched.add(socket);
      socket.once("close", () => this.disarm(socket));
    }
  }

  /** A request head arrived, or the connection is gone. */
  disarm(socket: net.Socket): void {
    const timer = this.#timers.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(socket);
  }
}

/** Closes `session` after `idleTimeoutMs` without an open stream (counting from the preface). */
export function closeWhenIdle(session: http2.ServerHttp2Session, idleTimeoutMs: number): void {
  let open = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      session.close();
      const force = setTimeout(() => session.destroy(), GOAWAY_GRACE_MS);
      session.once("close", () => clearTimeout(force));
    }, idleTimeoutMs);
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      if (--open === 0 && !session.closed && !session.destroyed) arm();
    });
  });
  session.once("close", () => clearTimeout(timer));
  arm();
}

/**
 * Pings `session` every `timeMs` (after the previous answer) and destroys it when a PING is not answered within
 * `timeoutMs`: a peer that stopped reading (or vanished without a FIN) cannot hold its streams forever.
 */
export function closeWhenUnresponsive(
  session: http2.ServerHttp2Session,
  timeMs: number,
  timeoutMs: number,
): void {
  let next: ReturnType<typeof setTimeout> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const probe = () => {
    if (session.closed || session.destroyed) return;
    deadline = setTimeout(() => session.destroy(), timeoutMs);
    const sent = session.ping((error) => {
      clearTimeout(deadline);
      // An error means the session is going away (ping cancelled): nothing more to watch.
      if (!error) next = setTimeout(probe, timeMs);
    });
    if (!sent) {
      // Too many PINGs outstanding (cannot happen with one at a time): try again later, the deadline still runs.
      next = setTimeout(probe, timeMs);
    }
  };
  session.once("close", () => {
    clearTimeout(next);
    clearTimeout(deadline);
  });
  next = setTimeout(probe, timeMs);
}

/** The defaults overridden by the limits that are set; throws a `RangeError` for one that is not a positive integer. */
export function resolveLimits(
  given: { readonly [K in keyof ConnectionLimits]?: number | undefined } = {},
): ConnectionLimits {
  const limits: { -readonly [K in keyof ConnectionLimits]: number } = { ...DEFAULT_LIMITS };
  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof ConnectionLimits)[]) {
    const value = given[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value <= 0) {
      throw new RangeError(`Connection limit ${name} must be a positive integer, got ${value}`);
    }
    limits[name] = value;
  }
  return limits;
}
