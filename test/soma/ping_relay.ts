/**
 * A loopback TCP relay in front of a server that counts the HTTP/2 PING frames going through it: PINGs the
 * client sends and the server's acknowledgements. Tests wait on these counts instead of sleeping "to let pings
 * go by".
 *
 * @module
 */
import { Notifier } from "../../src/dendrite/core/async.ts";

const PREFACE_LENGTH = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const FRAME_HEADER = 9;
const PING = 0x6;
const ACK = 0x1;

/** Finds frame headers in one direction of an HTTP/2 connection. */
class FrameScanner {
  #skip: number;
  #header = new Uint8Array(FRAME_HEADER);
  #filled = 0;
  readonly #onFrame: (type: number, flags: number) => void;

  constructor(skip: number, onFrame: (type: number, flags: number) => void) {
    this.#skip = skip;
    this.#onFrame = onFrame;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at);
        this.#skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(FRAME_HEADER - this.#filled, chunk.length - at);
      this.#header.set(chunk.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled < FRAME_HEADER) return;
      const h = this.#header;
      this.#filled = 0;
      this.#skip = (h[0] << 16) | (h[1] << 8) | h[2];
      this.#onFrame(h[3], h[4]);
    }
  }
}

/** The relay; `pings` are client PINGs, `acks` the server's PING acknowledgements. */
export class PingRelay {
  pings = 0;
  acks = 0;
  readonly #listener: Deno.TcpListener;
  readonly #connections = new Set<Deno.TcpConn>();
  readonly #changed = new Notifier();
  readonly #accepting: Promise<void>;
  readonly #pipes: Promise<void>[] = [];

  constructor(target: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept(target);
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  /** Resolves once `condition` holds (checked at every PING frame); rejects when `signal` aborts first. */
  async until(condition: () => boolean, signal: AbortSignal): Promise<void> {
    while (!condition()) await this.#changed.wait(signal);
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of [...this.#connections]) this.#drop(conn);
    await this.#accepting;
    await Promise.all(this.#pipes);
  }

  async #accept(target: number): Promise<void> {
    try {
      for await (const client of this.#listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
        this.#connections.add(client).add(server);
        const fromClient = new FrameScanner(PREFACE_LENGTH, (type, flags) => {
          if (type === PING && (flags & ACK) === 0) this.#count("pings");
        });
        const fromServer = new FrameScanner(0, (type, flags) => {
          if (type === PING && (flags & ACK) !== 0) this.#count("acks");
        });
        this.#pipes.push(this.#pipe(client, server, fromClient), this.#pipe(server, client, fromServer));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  #count(which: "pings" | "acks"): void {
    this[which]++;
    this.#changed.notify();
  }

  async #pipe(from: Deno.TcpConn, to: Deno.TcpConn, scanner: FrameScanner): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        scanner.push(buffer.subarray(0, n));
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // The other side closed: the relay ends with it.
    } finally {
      this.#drop(from);
      this.#drop(to);
    }
  }

  /** Closes a connection once, whichever side notices first. */
  #drop(conn: Deno.TcpConn): void {
    if (this.#connections.delete(conn)) conn.close();
  }
}
