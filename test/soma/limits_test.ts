/**
 * Slow and idle clients cannot hold soma's descriptors: a slowloris on the status port, an HTTP/2 connection that
 * only sends the preface, and connections beyond the cap are closed within the configured limits, while an Axon
 * client's open stream and the connections already in use keep working.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { assert, assertEquals } from "../assert.ts";
import { GetLastTokenRequestSchema } from "../../src/gen/axon/event_pb.ts";
import { PlatformInboundInstructionSchema } from "../../src/gen/axon/control_pb.ts";
import { Inbox, platform, RawClient, testSoma } from "./raw_client.ts";

const TOKEN = "limits-test-token";
const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** Opens a TCP connection; resolves once connected. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves with the ms from `since` until `socket` closes; rejects when it is still open after `boundMs`. */
function closedWithin(socket: Socket, boundMs: number, since = Date.now()): Promise<number> {
  const started = since;
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve(0);
    socket.resume(); // read (and drop) what the server sends, so its end is seen
    const timer = setTimeout(() => reject(new Error(`still open after ${boundMs} ms`)), boundMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

/** Sends one HTTP/1.1 request on a raw socket and resolves with the response's status line. */
function request(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Uint8Array) => {
      text += new TextDecoder().decode(chunk);
      if (text.includes("\r\n\r\n")) {
        socket.off("data", onData);
        resolve(text.slice(0, text.indexOf("\r\n")));
      }
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error("closed before the response")));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

/** One GetLastToken call on an HTTP/2 session; resolves with its grpc-status. */
function lastToken(session: http2.ClientHttp2Session): Promise<string> {
  const message = toBinary(GetLastTokenRequestSchema, create(GetLastTokenRequestSchema, {}));
  const body = new Uint8Array(5 + message.length);
  new DataView(body.buffer).setUint32(1, message.length);
  body.set(message, 5);
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": "/io.axoniq.axonserver.grpc.event.EventStore/GetLastToken",
      "content-type": "application/grpc",
      te: "trailers",
      "axoniq-access-token": TOKEN,
    });
    let status = "";
    stream.on("trailers", (trailers) => (status = String(trailers["grpc-status"])));
    stream.on("data", () => {});
    stream.on("end", () => resolve(status));
    stream.on("error", reject);
    stream.end(body);
  });
}

function session(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.once("remoteSettings", () => resolve(s));
    s.once("error", reject);
  });
}

Deno.test("soma's status port closes a slowloris at the header timeout and an idle connection", async () => {
  const { soma, dispose } = await testSoma({
    accessToken: TOKEN,
    limits: { headerTimeoutMs: 300, idleTimeoutMs: 600 },
  });
  const sockets: Socket[] = [];
  const drip = setInterval(() => sockets[0]?.write(`X-Drip-${Date.now()}: 1\r\n`), 50);
  try {
    const slow = await open(soma.httpPort!);
    sockets.push(slow);
    slow.write("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const slowClosed = await closedWithin(slow, 3_000);
    assert(slowClosed >= 250, `closed after ${slowClosed} ms, before the header timeout`);

    const idle = await open(soma.httpPort!);
    sockets.push(idle);
    assertEquals(await request(idle, "/v1/status"), "HTTP/1.1 200 OK", "a prompt request is served");
    const idleClosed = await closedWithin(idle, 3_000);
    assert(idleClosed >= 500, `closed after ${idleClosed} ms, before the idle timeout`);
  } finally {
    clearInterval(drip);
    for (const socket of sockets) socket.destroy();
    await dispose();
  }
});

Deno.test("soma's gRPC port closes a preface-only connection, but not one with an open platform stream", async () => {
  const { soma, dispose } = await testSoma({ accessToken: TOKEN, limits: { idleTimeoutMs: 400 } });
  const client = new RawClient(soma.port, { token: TOKEN });
  const stream = client.bidi(platform.openStream);
  const inbox = new Inbox(stream);
  const silent = await open(soma.port);
  const connectedAt = Date.now(); // the idle clock starts with the connection
  try {
    const register = (instructionId: string) =>
      create(PlatformInboundInstructionSchema, {
        instructionId,
        request: {
          case: "register",
          value: { clientId: "steady", componentName: "limits", version: "4.6.0" },
        },
      });
    stream.write(register("r1"));
    await inbox.next((m) => m.request.case === "ack" && m.request.value.instructionId === "r1");
    silent.write(PREFACE);
    const closed = await closedWithin(silent, 3_000, connectedAt);
    assert(closed >= 300, `closed after ${closed} ms, before the idle timeout`);
    // The platform stream's connection is older than the idle timeout and still serves it.
    stream.write(register("r2"));
    await inbox.next((m) => m.request.case === "ack" && m.request.value.instructionId === "r2");
    assertEquals(inbox.error, undefined);
  } finally {
    silent.destroy();
    stream.end();
    client.close();
    await dispose();
  }
});

Deno.test("soma closes connections beyond the cap on both ports; existing ones keep working", async () => {
  const { soma, dispose } = await testSoma({
    accessToken: TOKEN,
    limits: { maxConnections: 2, maxConcurrentStreams: 7 },
  });
  const sessions: http2.ClientHttp2Session[] = [];
  const sockets: Socket[] = [];
  try {
    sessions.push(await session(soma.port), await session(soma.port));
    assertEquals(sessions[0].remoteSettings.maxConcurrentStreams, 7, "the stream cap is advertised");
    assertEquals(await Promise.all(sessions.map(lastToken)), ["0", "0"]);
    const third = await open(soma.port);
    sockets.push(third);
    await closedWithin(third, 3_000);
    assertEquals(await Promise.all(sessions.map(lastToken)), ["0", "0"], "the first two still work");

    sockets.push(await open(soma.httpPort!), await open(soma.httpPort!));
    assertEquals(await request(sockets[1], "/v1/status"), "HTTP/1.1 200 OK");
    assertEquals(await request(sockets[2], "/v1/status"), "HTTP/1.1 200 OK");
    const extra = await open(soma.httpPort!);
    sockets.push(extra);
    await closedWithin(extra, 3_000);
    assertEquals(await request(sockets[1], "/v1/status"), "HTTP/1.1 200 OK", "the first still works");
  } finally {
    for (const s of sessions) s.destroy();
    for (const socket of sockets) socket.destroy();
    await dispose();
  }
});
