/**
 * A TCP front for soma's status port that enforces its connection limits: `Deno.serve` has no header read timeout,
 * idle timeout or connection cap (checked: a client sending one header line a second stays connected), so the
 * status server listens on an ephemeral loopback port behind this front, which
 *
 * - closes connections beyond `maxConnections` at once;
 * - closes an HTTP/1.x connection whose request header block (up to the empty line) takes longer than
 *   `headerTimeoutMs` from its first byte (slowloris);
 * - closes a connection without traffic in either direction for `idleTimeoutMs`.
 *
 * HTTP/2 (prior knowledge, or after a `101 Switching Protocols`) is passed through with the idle timeout only.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { connect, createServer, type Socket } from "node:net";

/** Options of {@link startGuard}. */
export interface GuardOptions {
  readonly host: string;
  /** Port to listen on (0 picks a free port). */
  readonly port: number;
  /** Where connections go: `127.0.0.1:targetPort`. */
  readonly targetPort: number;
  readonly maxConnections: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** A running front. */
export interface Guard {
  readonly port: number;
  /** Open client connections. */
  readonly connections: number;
  close(): Promise<void>;
}

const HEADER_END = "\r\n\r\n";
const H2_PREFACE = "PRI * HTTP/2.0";
const SWITCHING = "HTTP/1.1 101";

/** Tracks where an HTTP/1.x exchange is, to time header blocks. */
class HeaderClock {
  #state: "between" | "headers" | "body" | "opaque" = "between";
  #tail = "";
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly timeoutMs: number, private readonly expire: () => void) {}

  fromClient(chunk: Buffer): void {
    if (this.#state === "opaque") return;
    if (this.#state === "between") {
      if (chunk.toString("latin1", 0, H2_PREFACE.length) === H2_PREFACE) return this.#opaque();
      this.#state = "headers";
      this.#tail = "";
      this.#timer = setTimeout(this.expire, this.timeoutMs);
    }
    if (this.#state !== "headers") return;
    const text = this.#tail + chunk.toString("latin1");
    if (text.includes(HEADER_END)) {
      this.#state = "body";
      this.#clear();
    } else {
      this.#tail = text.slice(-(HEADER_END.length - 1));
    }
  }

  fromServer(chunk: Buffer): void {
    if (this.#state === "opaque") return;
    if (chunk.toString("latin1", 0, SWITCHING.length) === SWITCHING) return this.#opaque();
    if (this.#state === "body") this.#state = "between";
  }

  #opaque(): void {
    this.#state = "opaque";
    this.#clear();
  }

  #clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  dispose(): void {
    this.#clear();
  }
}

/**
 * Listens on `host:port` and forwards each connection to `127.0.0.1:targetPort` under the limits.
 *
 * @example
 * ```ts ignore
 * const guard = await startGuard({ host: "127.0.0.1", port: 8024, targetPort: inner, maxConnections: 500,
 *   headerTimeoutMs: 10_000, idleTimeoutMs: 60_000 });
 * ```
 */
export async function startGuard(options: GuardOptions): Promise<Guard> {
  const sockets = new Set<Socket>();
  const server = createServer((client: Socket) => {
    if (sockets.size >= options.maxConnections) {
      client.destroy();
      return;
    }
    const upstream = connect(options.targetPort, "127.0.0.1");
    sockets.add(client);
    const close = () => {
      clock.dispose();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
    };
    const clock = new HeaderClock(options.headerTimeoutMs, close);
    client.setTimeout(options.idleTimeoutMs, close);
    client.on("data", (chunk: Buffer) => clock.fromClient(chunk));
    upstream.on("data", (chunk: Buffer) => clock.fromServer(chunk));
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    get connections() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
