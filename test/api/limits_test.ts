/**
 * Connection limits of the gRPC port, GRPC_PORT (issue 12, item 5; the front door on Deno.serve has the runtime's own): slow request heads and idle HTTP/2 connections are
 * closed, connections beyond the cap are refused while the existing ones keep working, and the stream cap is
 * advertised. Small limits; every wait is on a close or response event with a bound.
 */
import http2 from "node:http2";
import net from "node:net";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import {
  type ConnectionLimits,
  type RunningServer,
  silentLogger,
  startServer,
} from "../../src/server/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { GREETER } from "./wire.ts";

const BOUND_MS = 5_000;

function startTrivial(limits: Partial<ConnectionLimits>): Promise<RunningServer> {
  return startServer({
    port: 0,
    grpcPort: 0,
    hostname: "127.0.0.1",
    logger: silentLogger,
    limits,
    api: (router) =>
      router.service(GreeterService, { greet: (request) => ({ greetingId: request.message }) }),
  });
}

/** Resolves when `emitter` emits "close", rejects after {@link BOUND_MS}. */
function closed(emitter: net.Socket | http2.ClientHttp2Session, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (emitter.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error(`${what} still open after ${BOUND_MS} ms`)), BOUND_MS);
    emitter.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return socket;
}

const BODY = JSON.stringify({ message: "hi" });
const REQUEST = `POST ${GREETER}/Greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
  `Content-Length: ${BODY.length}\r\n\r\n${BODY}`;

/** Sends one Greet on a raw keep-alive socket and resolves with the status line once the body is in. */
function greetRaw(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => done(new Error(`no answer after ${BOUND_MS} ms`)), BOUND_MS);
    const onData = (chunk: Uint8Array) => {
      text += new TextDecoder().decode(chunk);
      if (text.includes("greetingId")) done();
    };
    const onClose = () => done(new Error(`closed before the answer: ${JSON.stringify(text)}`));
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      if (error) reject(error);
      else resolve(text.split("\r\n", 1)[0]);
    };
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.write(REQUEST);
  });
}

Deno.test("HTTP/1.1: a client dribbling its request head is closed; a silent one too; others are served", async () => {
  const server = await startTrivial({ headersTimeoutMs: 300 });
  const slow = await connect(server.grpcPort);
  const dribble = setInterval(() => slow.write("X-Slow: 1\r\n"), 50);
  try {
    const silent = await connect(server.grpcPort);
    const afterAnswer = await connect(server.grpcPort);
    slow.write(`POST ${GREETER}/Greet HTTP/1.1\r\n`);
    const healthy = await connect(server.grpcPort);
    assertEquals(await greetRaw(healthy), "HTTP/1.1 200 OK");
    assertEquals(await greetRaw(afterAnswer), "HTTP/1.1 200 OK");
    const dribbleAfterAnswer = setInterval(() => afterAnswer.write("X-Slow: 1\r\n"), 50);
    afterAnswer.write(`POST ${GREETER}/Greet HTTP/1.1\r\n`);
    try {
      await Promise.all([
        closed(slow, "the dribbling connection"),
        closed(silent, "the silent connection"),
        closed(afterAnswer, "the connection dribbling after an answer"),
      ]);
    } finally {
      clearInterval(dribbleAfterAnswer);
    }
    healthy.destroy();
  } finally {
    clearInterval(dribble);
    slow.destroy();
    await server.shutdown();
  }
});

Deno.test("HTTP/2: a connection idle after the preface is closed, one with an open stream is not", async () => {
  const server = await startTrivial({ idleTimeoutMs: 300 });
  const url = `http://127.0.0.1:${server.grpcPort}`;
  const idle = http2.connect(url);
  const busy = http2.connect(url);
  idle.on("error", () => {});
  try {
    // A call whose request body is not finished keeps a stream open past the idle timeout.
    const stream = busy.request({
      ":method": "POST",
      ":path": `${GREETER}/Greet`,
      "content-type": "application/json",
    });
    stream.write(BODY);
    await closed(idle, "the idle HTTP/2 connection");
    assert(!busy.closed && !busy.destroyed, "the connection with an open stream was closed");
    const status = await new Promise<number>((resolve, reject) => {
      stream.on("response", (headers) => resolve(Number(headers[":status"])));
      stream.on("error", reject);
      stream.end();
    });
    assertEquals(status, 200);
    stream.resume();
  } finally {
    idle.destroy();
    busy.close();
    await server.shutdown();
  }
});

Deno.test("the connection cap refuses one more connection while the open ones keep working", async () => {
  const server = await startTrivial({ maxConnections: 3 });
  const open = [
    await connect(server.grpcPort),
    await connect(server.grpcPort),
    await connect(server.grpcPort),
  ];
  try {
    for (const socket of open) assertEquals(await greetRaw(socket), "HTTP/1.1 200 OK");
    const extra = await connect(server.grpcPort);
    await closed(extra, "the connection beyond the cap");
    for (const socket of open) assertEquals(await greetRaw(socket), "HTTP/1.1 200 OK");
  } finally {
    for (const socket of open) socket.destroy();
    await server.shutdown();
  }
});

Deno.test("HTTP/2: the per-connection stream cap is advertised and calls beyond it still complete", async () => {
  const server = await startTrivial({ maxStreamsPerConnection: 2 });
  const session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  try {
    const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    assertEquals(settings.maxConcurrentStreams, 2);
    const call = () =>
      new Promise<number>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": `${GREETER}/Greet`,
          "content-type": "application/json",
        });
        stream.on("response", (headers) => resolve(Number(headers[":status"])));
        stream.on("error", reject);
        stream.resume();
        stream.end(BODY);
      });
    assertEquals(await Promise.all([call(), call(), call(), call()]), [200, 200, 200, 200]);
  } finally {
    session.close();
    await server.shutdown();
  }
});

/** One HTTP/2 frame: length, type, flags, stream id, payload. */
function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(),
): Uint8Array {
  const bytes = new Uint8Array(9 + payload.length);
  bytes.set([payload.length >> 16, (payload.length >> 8) & 255, payload.length & 255, type, flags]);
  new DataView(bytes.buffer).setUint32(5, streamId);
  bytes.set(payload, 9);
  return bytes;
}

/** HPACK literal (without indexing) of a header whose name is entry `index` of the static table. */
function literal(index: number, value: string): number[] {
  const prefix = index < 15 ? [index] : [15, index - 15];
  return [...prefix, value.length, ...new TextEncoder().encode(value)];
}

Deno.test("HTTP/2: a peer with an open stream that stops answering PINGs is closed; one that answers is kept", async () => {
  const keepAliveTimeMs = 200;
  const keepAliveTimeoutMs = 300;
  const server = await startTrivial({ keepAliveTimeMs, keepAliveTimeoutMs, idleTimeoutMs: 60_000 });
  const healthy = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  const socket = await connect(server.grpcPort);
  try {
    // A raw client: preface, SETTINGS (and the ack of the server's), a Greet whose body never comes, then silence.
    const pings: number[] = [];
    socket.on("data", (chunk: Uint8Array) => {
      for (
        let at = 0;
        at + 9 <= chunk.length;
        at += 9 + ((chunk[at] << 16) | (chunk[at + 1] << 8) | chunk[at + 2])
      ) {
        if (chunk[at + 3] === 6 && (chunk[at + 4] & 1) === 0) pings.push(Date.now());
      }
    });
    // The healthy connection has answered three PINGs (more than one keepalive timeout) once this resolves.
    const healthyPinged = new Promise<void>((resolve, reject) => {
      let received = 0;
      const timer = setTimeout(() => reject(new Error(`${received} PINGs in ${BOUND_MS} ms`)), BOUND_MS);
      healthy.on("ping", () => {
        if (++received < 3) return;
        clearTimeout(timer);
        resolve();
      });
    });
    const opened = Date.now();
    const headers = new Uint8Array([
      0x83, // :method POST
      0x86, // :scheme http
      ...literal(4, `${GREETER}/Greet`), // :path
      ...literal(1, "x"), // :authority
      ...literal(31, "application/json"), // content-type
    ]);
    socket.write(new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    socket.write(frame(4, 0, 0));
    socket.write(frame(4, 1, 0));
    socket.write(frame(1, 4, 1, headers)); // END_HEADERS, not END_STREAM: the stream stays open

    // A node:http2 client with an open stream answers the PINGs and outlives several of them.
    const stream = healthy.request({
      ":method": "POST",
      ":path": `${GREETER}/Greet`,
      "content-type": "application/json",
    });
    stream.write(BODY);

    await closed(socket, "the connection not answering PINGs");
    const elapsed = Date.now() - opened;
    assert(pings.length >= 1, "the server sent a PING");
    assert(
      elapsed >= keepAliveTimeMs + keepAliveTimeoutMs - 50,
      `closed after ${elapsed} ms, before the timeout`,
    );
    await healthyPinged;
    assert(!healthy.closed && !healthy.destroyed, "the connection answering PINGs was closed");
    const status = await new Promise<number>((resolve, reject) => {
      stream.on("response", (h) => resolve(Number(h[":status"])));
      stream.on("error", reject);
      stream.end();
    });
    assertEquals(status, 200);
    stream.resume();
  } finally {
    socket.destroy();
    healthy.close();
    await server.shutdown();
  }
});
