import { assertEquals } from "../../test/assert.ts";
import { CallerConnection } from "./caller_windows.ts";

const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(9 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payload.length << 8);
  bytes[3] = type;
  bytes[4] = flags;
  view.setUint32(5, stream);
  bytes.set(payload, 9);
  return bytes;
}

const u32 = (n: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
};
const windowUpdate = (stream: number, increment: number) => frame(0x8, 0, stream, u32(increment));
const initialWindow = (size: number) => frame(0x4, 0, 0, new Uint8Array([0, 4, ...u32(size)]));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) [out.set(part, at), at += part.length];
  return out;
};

Deno.test("CallerConnection: initial window from SETTINGS, WINDOW_UPDATEs of watched streams, any chunking", () => {
  const bytes = concat(
    PREFACE,
    initialWindow(1_000),
    frame(0x0, 0, 3, new Uint8Array(700)), // a DATA frame of the caller: skipped
    windowUpdate(1, 500),
    windowUpdate(3, 40),
    frame(0x4, 0x1, 0, new Uint8Array()), // a SETTINGS ack: ignored
    windowUpdate(1, 250),
  );
  for (const size of [1, 5, 9, 64, bytes.length]) {
    const connection = new CallerConnection();
    const stream = connection.stream(1);
    let told = 0;
    const stop = stream.watch(() => told++);
    for (let at = 0; at < bytes.length; at += size) connection.read(bytes.subarray(at, at + size));
    assertEquals([connection.readable, stream.allowed(), told], [true, 1_750, 3], `chunks of ${size}`);
    assertEquals(connection.stream(3).allowed(), 1_000, "an unwatched stream's updates are not kept");
    stop();
  }
});

Deno.test("CallerConnection: bytes it cannot follow end the bound (Infinity), telling the watchers", () => {
  for (
    const bytes of [
      new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
      concat(PREFACE, frame(0x0, 0, 1, new Uint8Array(20_000))),
    ]
  ) {
    const connection = new CallerConnection();
    assertEquals(connection.readable, false, "not before the preface");
    const stream = connection.stream(1);
    let told = 0;
    stream.watch(() => told++);
    connection.read(bytes);
    assertEquals([connection.readable, stream.allowed(), told], [false, Infinity, 1]);
  }
});
