/**
 * Shutting the front door down while clients hold requests open: one stopped reading a stream (HTTP/2, its
 * receive window never opened), one never finishes its request body (HTTP/1.1). `Deno.serve`'s graceful shutdown
 * waits for such requests without a bound and kept the process alive after "stopped" (the h2c subscription test
 * hung in `program.stop()` this way); after the deadline the front door closes the connections instead.
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestApp } from "./fixture.ts";
import { connectJson, GREETER, waitProjected } from "./wire.ts";

const DEADLINE_MS = 300;
const encoder = new TextEncoder();

/** One HTTP/2 frame. */
function h2Frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const head = [payload.length >> 16, (payload.length >> 8) & 255, payload.length & 255, type, flags];
  return new Uint8Array([
    ...head,
    stream >> 24,
    (stream >> 16) & 255,
    (stream >> 8) & 255,
    stream & 255,
    ...payload,
  ]);
}

/** An HPACK literal field without indexing, its name from the static table (`index` < 15) or new (`index` 0). */
function field(index: number, name: string, value: string): number[] {
  const bytes = (text: string) => [text.length, ...encoder.encode(text)];
  return index === 0 ? [0, ...bytes(name), ...bytes(value)] : [index, ...bytes(value)];
}

/**
 * A raw HTTP/2 client that asks for a Connect JSON Greetings stream with a 16-byte receive window and never opens
 * it further (no WINDOW_UPDATE): the server can send the answer's headers and 16 bytes of its body, no more.
 */
async function stuckStream(port: number): Promise<Deno.TcpConn> {
  const socket = await Deno.connect({ hostname: "127.0.0.1", port });
  const initialWindowSize = [0, 4, 0, 0, 0, 16];
  const headers = [
    0x83, // :method POST
    0x86, // :scheme http
    ...field(4, ":path", `${GREETER}/Greetings`),
    ...field(1, ":authority", `127.0.0.1:${port}`),
    ...field(0, "content-type", "application/connect+json"),
    ...field(0, "connect-protocol-version", "1"),
  ];
  const body = new Uint8Array([0, 0, 0, 0, 2, ...encoder.encode("{}")]);
  await socket.write(
    new Uint8Array([
      ...encoder.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      ...h2Frame(4, 0, 0, new Uint8Array(initialWindowSize)), // SETTINGS
      ...h2Frame(1, 4, 1, new Uint8Array(headers)), // HEADERS, END_HEADERS
      ...h2Frame(0, 1, 1, body), // DATA, END_STREAM
    ]),
  );
  return socket;
}

/** Reads (and drops) what the server sends until it closes the connection; bounded by `timeoutMs`. */
async function untilClosed(socket: Deno.TcpConn, timeoutMs: number): Promise<string> {
  const buffer = new Uint8Array(64 * 1024);
  const deadline = Date.now() + timeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
  try {
    while (Date.now() < deadline) {
      const n = await Promise.race([socket.read(buffer).catch(() => null), late]);
      if (n === "late") return "still open";
      if (n === null) return "closed";
    }
    return "still open";
  } finally {
    clearTimeout(timer);
  }
}

/** An HTTP/1.1 Greet whose body stops after 2 of the 100 bytes it announced. */
async function unfinishedBody(port: number): Promise<Deno.TcpConn> {
  const socket = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = `POST ${GREETER}/Greet HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"`;
  await socket.write(encoder.encode(head));
  return socket;
}

Deno.test("front door: clients that stopped reading or sending do not hold the shutdown past its deadline", async () => {
  const t = await startTestApp({ shutdownDeadlineMs: DEADLINE_MS });
  const sockets: Deno.TcpConn[] = [];
  try {
    // A stream answers its headers with its first message: the greeting list starts with this one.
    const greeted = await connectJson(t.url, `${GREETER}/Greet`, { message: "a greeting to stream" });
    assertEquals(greeted.response.status, 200, greeted.text);
    await waitProjected(t, "a greeting to stream");
    const stuck = await stuckStream(t.port);
    const unfinished = await unfinishedBody(t.port);
    sockets.push(stuck, unfinished);

    const started = performance.now();
    await t.server.shutdown();
    const took = performance.now() - started;
    assert(took < DEADLINE_MS + 5_000, `shutdown took ${took} ms`);
    assertEquals(await untilClosed(stuck, 10_000), "closed", "the stuck HTTP/2 stream's connection");
    assertEquals(
      await untilClosed(unfinished, 10_000),
      "closed",
      "the unfinished HTTP/1.1 request's connection",
    );
    const refused = await fetch(`${t.url}/healthz`).then(() => "answered", () => "refused");
    assertEquals(refused, "refused");
  } finally {
    for (const socket of sockets) socket.close();
    await t.close();
  }
});
