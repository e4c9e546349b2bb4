/**
 * A gRPC client on the gRPC port (`GRPC_PORT`, node:http2) that opens a live Greetings stream and never reads it
 * (and a Connect client over HTTP/1.1 on the same port that stops reading) must not make the server queue the
 * updates it cannot send: the server stops writing once HTTP/2 flow control
 * and the socket are full, the subscription falls a buffer behind, and the stream is ended with
 * RESOURCE_EXHAUSTED while a reader beside it gets every update and the process keeps serving.
 */
import http2 from "node:http2";
import { assert, assertEquals, eventually, within } from "../assert.ts";
import { append, Greeters, startAllRoles } from "./program.ts";
import { stuckStream } from "./stuck_stream.ts";

const BUFFER = 200;
const BATCH = 200;
/** ~8 MB of updates: far more than the HTTP/2 windows (64 KiB) and the loopback socket's buffers hold. */
const UPDATES = 10_000;
const FILLER = "x".repeat(800);
const GREETINGS = "/example.v1.GreeterService/Greetings";
/** A gRPC message frame holding an empty GreetingsRequest. */
const EMPTY_REQUEST = new Uint8Array([0, 0, 0, 0, 0]);

interface GrpcStream {
  readonly stream: http2.ClientHttp2Stream;
  /** Resolves with the trailers' grpc-status and grpc-message once the stream ended. */
  readonly ended: Promise<{ status: string; message: string; bytes: number }>;
  /** Bytes read so far. */
  readonly bytes: () => number;
}

/** Opens a Greetings stream with grpc-js-free raw HTTP/2 (a client this project did not write: node:http2). */
function openGreetings(session: http2.ClientHttp2Session): GrpcStream {
  const stream = session.request({
    ":method": "POST",
    ":path": GREETINGS,
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.end(EMPTY_REQUEST);
  let bytes = 0;
  stream.on("data", (chunk: Uint8Array) => bytes += chunk.length);
  const ended = new Promise<{ status: string; message: string; bytes: number }>((resolve, reject) => {
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("trailers", (headers) => trailers = headers);
    stream.on("response", (headers) => {
      // A trailers-only answer carries the status in the headers.
      if (headers["grpc-status"] !== undefined) trailers = headers;
    });
    stream.on("error", reject);
    stream.on("close", () =>
      resolve({
        status: String(trailers["grpc-status"] ?? ""),
        message: decodeURIComponent(String(trailers["grpc-message"] ?? "")),
        bytes,
      }));
  });
  return { stream, ended, bytes: () => bytes };
}

Deno.test({
  name:
    "gRPC port: a live stream whose client never reads is dropped, not buffered, while the others keep up",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "dendrite-grpc-stuck-" });
    const program = startAllRoles(dataDir, {
      SUBSCRIPTION_BUFFER: String(BUFFER),
    }, { denoArgs: ["--v8-flags=--max-old-space-size=128"] });
    const sessions: http2.ClientHttp2Session[] = [];
    try {
      const soma = await program.waitFor((r) => r.msg === "soma listening", "soma listening");
      const api = await program.waitFor((r) => r.msg === "listening", "the api listening");
      const somaPort = Number(soma.port);
      const url = `http://127.0.0.1:${Number(api.grpcPort)}`;
      const greeters = new Greeters();
      await append(somaPort, [greeters.greeted("g-0", "the initial greeting")]);

      // The stuck reader: its session's receive window stays at node:http2's 64 KiB and it never reads.
      const stuckSession = http2.connect(url);
      sessions.push(stuckSession);
      const stuck = openGreetings(stuckSession);
      await new Promise((resolve) => stuck.stream.once("response", resolve));
      stuck.stream.pause();
      // The same over HTTP/1.1 on the same port (node:http, Connect): its reader stops after the first bytes.
      const stuckH1 = await stuckStream(Number(api.grpcPort));

      // The reader beside it: a session of its own with a browser's windows, reading everything.
      const readerSession = http2.connect(url, {
        settings: { initialWindowSize: 6 * 1024 * 1024 },
      });
      readerSession.on("connect", () => readerSession.setLocalWindowSize(15 * 1024 * 1024));
      sessions.push(readerSession);
      const reader = openGreetings(readerSession);
      let text = "";
      const decoder = new TextDecoder();
      reader.stream.on("data", (chunk: Uint8Array) => {
        text += decoder.decode(chunk, { stream: true });
        if (text.length > 200_000) text = text.slice(-100_000);
      });
      await eventually(() => text.includes("the initial greeting"), 20_000, "the reader's initial greeting");

      for (let sent = 0; sent < UPDATES; sent += BATCH) {
        const batch = [];
        for (let i = sent; i < sent + BATCH; i++) {
          batch.push(greeters.greeted(`g-${1 + (i % 50)}`, `update ${i} ${FILLER}`));
        }
        await append(somaPort, batch);
      }
      await eventually(() => text.includes(`update ${UPDATES - 1} `), 60_000, "the reader's last update");

      // Only now does the stuck client read: what the server kept for it ends in a clear error.
      stuck.stream.resume();
      const end = await within(
        stuck.ended,
        30_000,
        () => `the stuck stream to end (${stuck.bytes()} bytes read)`,
      );
      assertEquals(end.status, "8", `RESOURCE_EXHAUSTED, got ${JSON.stringify(end)}`);
      assert(end.message.includes("fell too far behind"), end.message);
      // What it read: its window, the server's send buffer and the subscription's buffer, not the ~8 MB published.
      assert(end.bytes < 2 * 1024 * 1024, `the stuck stream read ${end.bytes} bytes`);

      const endH1 = await stuckH1.readUntil("fell too far behind");
      stuckH1.close();
      assert(endH1.includes('"code":"resource_exhausted"'), endH1.slice(-300));
      assert(!endH1.includes(`update ${UPDATES - 1} `), "the stuck HTTP/1.1 stream did not get every update");

      const health = await fetch(`http://127.0.0.1:${Number(api.port)}/healthz`);
      assertEquals(health.status, 200, "the process still serves");
      await health.body?.cancel();
      reader.stream.close();
    } finally {
      for (const session of sessions) session.destroy();
      const status = await program.stop();
      assertEquals(status.code, 0, program.tail());
    }
  },
});
