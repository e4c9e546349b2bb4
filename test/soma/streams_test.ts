/**
 * soma's framed writer over real gRPC on loopback: behind soma's interceptor it finds the call's HTTP/2 stream,
 * and runs of messages written in one write arrive as the same messages, in order, for a plain grpc-js client.
 */
import {
  Client,
  type ClientReadableStream,
  credentials,
  Metadata,
  type MethodDefinition,
  Server,
  ServerCredentials,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { assertEquals } from "../assert.ts";
import { axonInterceptor, CONTEXT_HEADER } from "../../src/soma/grpc_errors.ts";
import { framedWriter } from "../../src/soma/streams.ts";

const bytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const method: MethodDefinition<Uint8Array, Uint8Array> = {
  path: "/test.v1.Numbers/Count",
  requestStream: false,
  responseStream: true,
  requestSerialize: bytes,
  requestDeserialize: (b) => new Uint8Array(b),
  responseSerialize: bytes,
  responseDeserialize: (b) => new Uint8Array(b),
};

/** Message `i`: `i` bytes of value `i % 256` (0..n-1, so empty and multi-frame sizes are covered). */
const message = (i: number) => new Uint8Array(i).fill(i % 256);

Deno.test("framedWriter writes runs of messages that a plain client reads one by one, in order", async () => {
  const server = new Server({ interceptors: [axonInterceptor()] });
  const found: boolean[] = [];
  server.addService({ count: method }, {
    count: async (call: ServerWritableStream<Uint8Array, Uint8Array>) => {
      const writer = framedWriter(call, (error) => call.destroy(error));
      found.push(writer !== undefined);
      if (!writer) return call.end();
      // Runs of 1, 10 and 289 messages, the largest over 40 KiB in one write.
      const runs = [[0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Array.from({ length: 289 }, (_, i) => 11 + i)];
      const signal = AbortSignal.timeout(10_000);
      for (const run of runs) {
        if (!writer.write(run.map(message))) await writer.drained(signal);
      }
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => e ? reject(e) : resolve(p))
  );
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const metadata = new Metadata();
    metadata.set(CONTEXT_HEADER, "default");
    const stream: ClientReadableStream<Uint8Array> = client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      new Uint8Array(),
      metadata,
    );
    const received: Uint8Array[] = [];
    for await (const m of stream) received.push(m as Uint8Array);
    assertEquals(found, [true]);
    assertEquals(received.length, 300);
    received.forEach((m, i) => assertEquals(m, message(i), `message ${i}`));
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});

Deno.test("framedWriter declines a call without the grpc-js internals it needs", () => {
  assertEquals(framedWriter({}, () => {}), undefined);
  assertEquals(framedWriter({ call: { nextCall: { stream: {} } } }, () => {}), undefined);
});
