/**
 * A bound on what one HTTP/2 response may have written but not yet sent, for node:http2 on Deno 2.9.3.
 *
 * Deno 2.9.3's node:http2 completes a stream's writes as soon as they reach its native side, before nghttp2
 * frames them, so `write()` never waits for the client's flow-control window and `drain` comes at once: a
 * client that stops reading a live stream makes the server queue everything written to it (denoland/deno#36044,
 * fixed in 2.9.4, which the project cannot use yet; see test/soma/client_close_test.ts). The runtime does write
 * every frame it sends with one `socket.write` on the connection's socket, so the bytes sent for each stream can
 * be counted there: {@link SentDataCounter} reads the outgoing frame headers, and {@link boundSendBuffer} makes
 * a response's `write()` ask its writer to wait (`false`, then `drain`) while more than a bound of what it was
 * given is still unsent. connect-node waits for `drain`, so a server stream then stops pulling messages, and a
 * subscription behind it overflows and ends with RESOURCE_EXHAUSTED instead of growing the server's memory.
 *
 * @module
 */
import type http2 from "node:http2";
import type net from "node:net";
import type tls from "node:tls";
import { Buffer } from "node:buffer";

/** What one stream may have unsent before its writer is asked to wait: a few times a default window (64 KiB). */
export const SEND_BUFFER_BYTES = 256 * 1024;

const FRAME_HEADER_BYTES = 9;
const DATA_FRAME = 0x0;
const PADDED = 0x8;

/**
 * Counts the DATA payload bytes of each stream in a connection's outgoing HTTP/2 frames, however the bytes are
 * split across writes, and tells a stream's watcher when more of it went out.
 *
 * @example
 * ```ts
 * import { SentDataCounter } from "./h2_send_buffer.ts";
 * const counter = new SentDataCounter();
 * counter.watch(1, () => {});
 * // A DATA frame of stream 1 carrying 3 bytes.
 * counter.observe(new Uint8Array([0, 0, 3, 0, 0, 0, 0, 0, 1, 97, 98, 99]));
 * console.log(counter.sent(1)); // 3
 * ```
 */
export class SentDataCounter {
  readonly #sent = new Map<number, number>();
  readonly #watchers = new Map<number, () => void>();
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerLength = 0;
  /** Payload bytes of the current frame still to come. */
  #remaining = 0;
  /** The current frame's stream when it is a DATA frame, else 0. */
  #dataStream = 0;
  /** Whether the current DATA frame's first payload byte (its pad length) is still to come. */
  #padLengthNext = false;
  /** Bytes of the current DATA frame's data (not its padding) still to come. */
  #dataLeft = 0;

  /** Bytes of DATA payload (without padding) sent for `streamId` since it is watched. */
  sent(streamId: number): number {
    return this.#sent.get(streamId) ?? 0;
  }

  /** Counts DATA of `streamId` and calls `progress` whenever some goes out, until {@link forget}. One each. */
  watch(streamId: number, progress: () => void): void {
    this.#watchers.set(streamId, progress);
  }

  /** Drops what is kept for a stream that ended. */
  forget(streamId: number): void {
    this.#sent.delete(streamId);
    this.#watchers.delete(streamId);
  }

  /** Reads outgoing bytes of the connection, in order. */
  observe(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#headerLength < FRAME_HEADER_BYTES) {
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerLength, bytes.length - offset);
        this.#header.set(bytes.subarray(offset, offset + take), this.#headerLength);
        this.#headerLength += take;
        offset += take;
        if (this.#headerLength === FRAME_HEADER_BYTES) this.#startFrame();
        continue;
      }
      const take = Math.min(this.#remaining, bytes.length - offset);
      if (this.#dataStream !== 0 && take > 0) this.#payload(bytes, offset, take);
      this.#remaining -= take;
      offset += take;
      if (this.#remaining === 0) this.#headerLength = 0;
    }
  }

  #startFrame(): void {
    const h = this.#header;
    const length = (h[0] << 16) | (h[1] << 8) | h[2];
    const streamId = ((h[5] & 0x7f) << 24 | (h[6] << 16) | (h[7] << 8) | h[8]) >>> 0;
    this.#remaining = length;
    this.#dataStream = h[3] === DATA_FRAME ? streamId : 0;
    this.#padLengthNext = this.#dataStream !== 0 && (h[4] & PADDED) !== 0;
    this.#dataLeft = this.#padLengthNext ? 0 : length;
    if (length === 0) this.#headerLength = 0;
  }

  /** `take` payload bytes of the current DATA frame, from `offset` of `bytes`, went out. */
  #payload(bytes: Uint8Array, offset: number, take: number): void {
    let data = take;
    if (this.#padLengthNext) {
      // The pad length byte and the padding after the data are not the stream's data.
      this.#padLengthNext = false;
      this.#dataLeft = Math.max(0, this.#remaining - 1 - bytes[offset]);
      data -= 1;
    }
    const counted = Math.min(data, this.#dataLeft);
    this.#dataLeft -= counted;
    // Only watched streams are counted: a frame that goes out after its stream was forgotten leaves nothing.
    const id = this.#dataStream;
    const watcher = this.#watchers.get(id);
    if (counted === 0 || watcher === undefined) return;
    this.#sent.set(id, this.sent(id) + counted);
    watcher();
  }
}

/**
 * Counts what the server sends on `socket`, an HTTP/2 connection's socket before node:http2 gets it (by
 * wrapping its `write`).
 *
 * @example
 * ```ts ignore
 * const counter = countSentData(socket);
 * h2Server.emit("connection", socket);
 * ```
 */
export function countSentData(socket: net.Socket | tls.TLSSocket): SentDataCounter {
  const counter = new SentDataCounter();
  const write = socket.write;
  socket.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]): boolean {
    if (chunk instanceof Uint8Array) counter.observe(chunk);
    return (write as (chunk: unknown, ...rest: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof socket.write;
  return counter;
}

/** A response body writer's byte count: everything it was given, as `write()` and `end()` count it. */
function byteLength(chunk: unknown, encoding: unknown): number {
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  if (typeof chunk === "string") {
    return Buffer.byteLength(chunk, typeof encoding === "string" ? encoding as BufferEncoding : "utf8");
  }
  return 0;
}

/**
 * Makes `response.write()` return `false` while more than `limit` bytes of what it was given are unsent, and
 * emits `drain` on the response once no more than half of that is left (or the stream closed). The response's
 * own writes are unchanged: only its callers are asked to wait.
 *
 * @example
 * ```ts ignore
 * boundSendBuffer(response, counter);
 * ```
 */
export function boundSendBuffer(
  response: http2.Http2ServerResponse,
  counter: SentDataCounter,
  limit = SEND_BUFFER_BYTES,
): void {
  const stream = response.stream;
  const id = stream.id;
  if (id === undefined) return;
  let given = 0;
  let waiting = false;
  const unsent = () => given - counter.sent(id);
  const release = () => {
    if (!waiting) return;
    if (unsent() > limit / 2 && !stream.closed) return;
    waiting = false;
    response.emit("drain");
  };
  counter.watch(id, release);
  stream.once("close", () => {
    release();
    counter.forget(id);
  });
  const write = response.write;
  response.write = function (this: http2.Http2ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    given += byteLength(chunk, rest[0]);
    const accepted = (write as (chunk: unknown, ...rest: unknown[]) => boolean).call(this, chunk, ...rest);
    if (unsent() <= limit) return accepted;
    waiting = true;
    return false;
  } as typeof response.write;
}
