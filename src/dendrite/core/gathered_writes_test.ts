import { assert, assertEquals } from "../../../test/assert.ts";
import { Buffer } from "node:buffer";
import process from "node:process";
import * as grpc from "@grpc/grpc-js";
import { connect, createServer, type Server, type Socket } from "node:net";
import { GatheringCredentials, gatherWrites } from "./gathered_writes.ts";

/** Runs `test` with a connected pair on loopback: `local` is the accepted end, `peer` the connecting one. */
async function withSocketPair(test: (local: Socket, peer: Socket) => Promise<void>): Promise<void> {
  const accepted = Promise.withResolvers<Socket>();
  const server: Server = createServer((socket) => accepted.resolve(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no address");
  const peer = connect(address.port, "127.0.0.1");
  const local = await accepted.promise;
  try {
    await test(local, peer);
  } finally {
    peer.destroy();
    local.destroy();
    server.close();
  }
}

/** Everything `socket` receives until it ends. */
function received(socket: Socket): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  return new Promise((resolve) => socket.once("end", () => resolve(concat(chunks))));
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Counts the socket's calls into the stream's single and vectored write paths. */
function countWrites(socket: Socket): { single: number; vectored: number[] } {
  const counts = { single: 0, vectored: [] as number[] };
  const internals = socket as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (chunks: unknown[], callback: unknown) => void;
  };
  const single = internals._write;
  const vectored = internals._writev;
  internals._write = function (this: unknown, ...args: unknown[]) {
    counts.single++;
    return single.apply(this, args);
  };
  internals._writev = function (this: unknown, chunks: unknown[], callback: unknown) {
    counts.vectored.push(chunks.length);
    return vectored.call(this, chunks, callback);
  };
  return counts;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Writes three chunks in one turn of the event loop, the way node:http2 does: now, in a microtask, in a tick. */
function writeInOneTurn(socket: Socket): Promise<void> {
  socket.write(new Uint8Array([1]));
  queueMicrotask(() => {
    socket.write(new Uint8Array([2, 3]));
    process.nextTick(() => socket.write(new Uint8Array([4, 5, 6])));
  });
  return nextTurn();
}

Deno.test("gatherWrites: what one turn writes leaves in one vectored write", () =>
  withSocketPair(async (local, peer) => {
    const all = received(peer);
    gatherWrites(local);
    const counts = countWrites(local);
    const turn = writeInOneTurn(local);
    assertEquals(local.writableCorked, 1, "the turn's writes wait for its end");
    await turn;
    assertEquals(local.writableCorked, 0);
    assertEquals(counts, { single: 0, vectored: [3] });
    local.write(new Uint8Array([7]));
    assertEquals(local.writableCorked, 1, "the next turn gathers again");
    local.end();
    assertEquals(await all, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
  }));

Deno.test("gatherWrites: without it, the same turn makes several writes (the cost it removes)", () =>
  withSocketPair(async (local, peer) => {
    const all = received(peer);
    const counts = countWrites(local);
    await writeInOneTurn(local);
    local.end();
    assertEquals(await all, new Uint8Array([1, 2, 3, 4, 5, 6]));
    assert(counts.single + counts.vectored.length >= 2, JSON.stringify(counts));
  }));

Deno.test("gatherWrites: large and many writes over many turns arrive whole and in order; end() flushes at once", () =>
  withSocketPair(async (local, peer) => {
    const all = received(peer);
    gatherWrites(local);
    const sent: Uint8Array[] = [];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let turn = 0; turn < 20; turn++) {
      for (let i = next() % 8; i >= 0; i--) {
        const chunk = new Uint8Array(1 + (next() % 70_000)).map(() => next() & 0xff);
        sent.push(chunk);
        local.write(chunk);
      }
      if (turn % 3 === 0) await nextTurn();
    }
    local.end(new Uint8Array([9]));
    sent.push(new Uint8Array([9]));
    assertEquals(local.writableCorked, 0, "end() uncorks");
    assertEquals(await all, concat(sent));
  }));

Deno.test("gatherWrites: back-pressure is reported as before", () =>
  withSocketPair(async (local, peer) => {
    peer.pause();
    gatherWrites(local);
    assertEquals(local.write(new Uint8Array(1)), true);
    assertEquals(local.write(new Uint8Array(local.writableHighWaterMark)), false);
    await nextTurn();
  }));

Deno.test("GatheringCredentials: keeps the inner credentials' security and equality", () => {
  const insecure = new GatheringCredentials(grpc.credentials.createInsecure());
  const secure = new GatheringCredentials(grpc.credentials.createSsl());
  assertEquals(insecure._isSecure(), false);
  assertEquals(secure._isSecure(), true);
  assert(insecure._equals(new GatheringCredentials(grpc.credentials.createInsecure())));
  assert(!insecure._equals(secure));
  assert(!insecure._equals(grpc.credentials.createInsecure()));
});

Deno.test("GatheringCredentials: the connections it makes gather their writes", () =>
  withSocketPair(async (local) => {
    const credentials = new GatheringCredentials(grpc.credentials.createInsecure());
    const connector = credentials._createSecureConnector({ path: "127.0.0.1:1" }, {});
    const { socket, secure } = await connector.connect(local);
    assertEquals(secure, false);
    socket.write(new Uint8Array([1]));
    assertEquals(socket.writableCorked, 1);
    await nextTurn();
    assertEquals(socket.writableCorked, 0);
    connector.destroy();
  }));

Deno.test("GatheringCredentials: a grpc-js call goes through", async () => {
  const server = new grpc.Server();
  const echo: grpc.UntypedServiceImplementation = {
    echo: (call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) =>
      callback(null, call.request),
  };
  const bytes = (b: Uint8Array) => Buffer.from(b);
  const method = {
    path: "/test.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: (b: Uint8Array) => new Uint8Array(b),
    responseSerialize: bytes,
    responseDeserialize: (b: Uint8Array) => new Uint8Array(b),
  };
  server.addService({ echo: method }, echo);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  const client = new grpc.Client(
    `127.0.0.1:${port}`,
    new GatheringCredentials(grpc.credentials.createInsecure()),
  );
  try {
    const answer = await new Promise<Uint8Array>((resolve, reject) =>
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        new Uint8Array([1, 2, 3]),
        (error, value) => (error || !value ? reject(error) : resolve(value)),
      )
    );
    assertEquals(answer, new Uint8Array([1, 2, 3]));
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});
