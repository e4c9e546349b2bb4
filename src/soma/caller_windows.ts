/**
 * How far each gRPC caller has read soma's server streams, from the HTTP/2 frames the caller sends: its
 * `SETTINGS_INITIAL_WINDOW_SIZE` and the `WINDOW_UPDATE`s per stream. A caller returns window as it consumes, so
 * the bytes it allowed on a stream are the caller's own flow control. soma needs this because Deno's `node:http2`
 * completes every stream write at once (the write callback and `drain` never wait for the peer's window; the
 * data queues in the process without bound), so a write never tells soma that a caller stopped reading.
 *
 * The reader is passive: it sees a copy of the inbound bytes of each connection (soma's gRPC listener feeds it)
 * and only decodes frame headers, SETTINGS and WINDOW_UPDATE frames of watched streams.
 *
 * @module
 */

const PREFACE_LENGTH = 24;
const HEADER_LENGTH = 9;
const FRAME_SETTINGS = 0x4;
const FRAME_WINDOW_UPDATE = 0x8;
const FLAG_ACK = 0x1;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
/** HTTP/2's initial stream window until the caller's SETTINGS say otherwise. */
const DEFAULT_INITIAL_WINDOW = 65_535;
const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** The largest frame a caller may send soma (node:http2's default SETTINGS_MAX_FRAME_SIZE). */
const MAX_FRAME = 16_384;

/** One stream as its caller allows it. */
export interface CallerStream {
  /**
   * Bytes of DATA the caller has allowed on this stream so far (its initial window plus every update); Infinity
   * once the connection's bytes could not be followed (then nothing is held back).
   */
  allowed(): number;
  /** Calls `listener` whenever the caller allows more; returns the function that stops watching. */
  watch(listener: () => void): () => void;
}

/**
 * The caller's side of one HTTP/2 connection.
 *
 * @example
 * ```ts
 * import { CallerConnection } from "./caller_windows.ts";
 * const connection = new CallerConnection();
 * const stream = connection.stream(1);
 * stream.watch(() => console.log(stream.allowed()));
 * ```
 */
export class CallerConnection {
  #prefaceLeft = PREFACE_LENGTH;
  readonly #header = new Uint8Array(HEADER_LENGTH);
  #headerFill = 0;
  #payload: Uint8Array | undefined;
  #payloadFill = 0;
  #skip = 0;
  #broken = false;
  #initialWindow = DEFAULT_INITIAL_WINDOW;
  readonly #watched = new Map<number, { updates: number; listeners: Set<() => void> }>();

  /** True once the caller's preface was read, false once its bytes turned out not to be what this reads. */
  get readable(): boolean {
    return !this.#broken && this.#prefaceLeft === 0;
  }

  /** The stream `id` of this connection. */
  stream(id: number): CallerStream {
    return {
      allowed: () => this.#broken ? Infinity : this.#initialWindow + (this.#watched.get(id)?.updates ?? 0),
      watch: (listener) => {
        let entry = this.#watched.get(id);
        if (!entry) this.#watched.set(id, entry = { updates: 0, listeners: new Set() });
        entry.listeners.add(listener);
        return () => {
          entry.listeners.delete(listener);
          if (entry.listeners.size === 0 && this.#watched.get(id) === entry) this.#watched.delete(id);
        };
      },
    };
  }

  /** Reads the next bytes the caller sent. */
  read(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length && !this.#broken) {
      if (this.#prefaceLeft > 0) {
        const expected = PREFACE[PREFACE_LENGTH - this.#prefaceLeft];
        if (chunk[offset] !== expected) this.#break();
        this.#prefaceLeft--;
        offset++;
      } else if (this.#skip > 0) {
        const taken = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= taken;
        offset += taken;
      } else if (this.#payload) {
        const taken = Math.min(this.#payload.length - this.#payloadFill, chunk.length - offset);
        this.#payload.set(chunk.subarray(offset, offset + taken), this.#payloadFill);
        this.#payloadFill += taken;
        offset += taken;
        if (this.#payloadFill === this.#payload.length) this.#frame(this.#payload);
      } else {
        const taken = Math.min(HEADER_LENGTH - this.#headerFill, chunk.length - offset);
        this.#header.set(chunk.subarray(offset, offset + taken), this.#headerFill);
        this.#headerFill += taken;
        offset += taken;
        if (this.#headerFill === HEADER_LENGTH) this.#startFrame();
      }
    }
  }

  #startFrame(): void {
    this.#headerFill = 0;
    const h = this.#header;
    const length = (h[0] << 16) | (h[1] << 8) | h[2];
    if (length > MAX_FRAME) {
      this.#break();
      return;
    }
    const type = h[3];
    const interesting = (type === FRAME_SETTINGS && (h[4] & FLAG_ACK) === 0) ||
      (type === FRAME_WINDOW_UPDATE && length === 4 && this.#watched.has(this.#streamId()));
    if (interesting && length > 0) {
      this.#payload = new Uint8Array(length);
      this.#payloadFill = 0;
    } else {
      this.#skip = length;
    }
  }

  /** Stops reading: every stream is then unbounded (its watchers are told once). */
  #break(): void {
    this.#broken = true;
    for (const entry of this.#watched.values()) for (const listener of [...entry.listeners]) listener();
    this.#watched.clear();
  }

  #streamId(): number {
    const h = this.#header;
    return ((h[5] & 0x7f) << 24 | (h[6] << 16) | (h[7] << 8) | h[8]) >>> 0;
  }

  #frame(payload: Uint8Array): void {
    this.#payload = undefined;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    if (this.#header[3] === FRAME_WINDOW_UPDATE) {
      const entry = this.#watched.get(this.#streamId());
      if (!entry) return;
      entry.updates += view.getUint32(0) & 0x7fff_ffff;
      for (const listener of [...entry.listeners]) listener();
      return;
    }
    for (let at = 0; at + 6 <= payload.length; at += 6) {
      if (view.getUint16(at) !== SETTINGS_INITIAL_WINDOW_SIZE) continue;
      this.#initialWindow = view.getUint32(at + 2);
      for (const entry of this.#watched.values()) for (const listener of [...entry.listeners]) listener();
    }
  }
}

/** Every caller connection of a listener, by the caller's address and port. */
export class CallerWindows {
  readonly #connections = new Map<string, CallerConnection>();

  /** Starts reading a new connection from `address`:`port`; returns the function to call when it closes. */
  open(
    address: string | undefined,
    port: number | undefined,
  ): { connection: CallerConnection; close(): void } {
    const key = peerKey(address, port);
    const connection = new CallerConnection();
    this.#connections.set(key, connection);
    return {
      connection,
      close: () => {
        if (this.#connections.get(key) === connection) this.#connections.delete(key);
      },
    };
  }

  /**
   * The caller's view of a grpc-js server call's stream, or undefined when unknown (a call that did not come
   * through the listener, or grpc-js internals of another version: the stream id is read from the base call
   * under the interceptors, as `framedWriter` does).
   */
  of(call: { getPeer(): string }): CallerStream | undefined {
    const peer = call.getPeer();
    const colon = peer.lastIndexOf(":");
    const connection = this.#connections.get(peerKey(peer.slice(0, colon), Number(peer.slice(colon + 1))));
    const id = streamIdOf(call);
    return connection?.readable && id !== undefined ? connection.stream(id) : undefined;
  }
}

function peerKey(address: string | undefined, port: number | undefined): string {
  return `${(address ?? "").replace(/^\[|\]$/g, "")}|${port ?? 0}`;
}

/** The HTTP/2 stream id of a grpc-js server call (through the pinned version's internals). */
function streamIdOf(call: object): number | undefined {
  let base: unknown = (call as { readonly call?: unknown }).call;
  for (let depth = 0; depth < 8 && base; depth++) {
    const id = (base as { stream?: { id?: unknown } }).stream?.id;
    if (typeof id === "number") return id;
    base = (base as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}
