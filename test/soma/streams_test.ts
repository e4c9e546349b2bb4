/**
 * soma's framed writer over real gRPC on loopback: behind soma's interceptor it finds the call's HTTP/2 stream,
 * and runs of messages written in one write arrive as the same messages, in order, for a plain grpc-js client.
 * It is guarded by the grpc-js version it was verified against; ListEvents is checked on both paths: the
 * private-field fast path and the message-by-message fallback.
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
import { assert, assertEquals } from "../assert.ts";
import { axonInterceptor, CONTEXT_HEADER } from "../../src/soma/grpc_errors.ts";
import {
  FRAMED_WRITER_GRPC_JS,
  framedWriter,
  framedWritesUnavailable,
  GRPC_JS_VERSION,
} from "../../src/soma/streams.ts";
import { eventStoreDefinition, eventStoreService } from "../../src/soma/event_service.ts";
import { InMemoryEventStore } from "../../src/dendrite/mod.ts";
import { create } from "@bufbuild/protobuf";
import { type EventWithToken, GetEventsRequestSchema } from "../../src/gen/axon/event_pb.ts";
import { events, Inbox, RawClient } from "./raw_client.ts";

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
      // On the same real call, another grpc-js version is declined although the internals are there.
      found.push(framedWriter(call, (error) => call.destroy(error), "1.99.0") !== undefined);
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
    assertEquals(found, [false, true]);
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

Deno.test("the loaded grpc-js is the version framedWriter was verified against (an upgrade must re-verify it)", () => {
  assertEquals(
    GRPC_JS_VERSION,
    FRAMED_WRITER_GRPC_JS,
    "grpc-js changed: check framedWriter against its internals, then move FRAMED_WRITER_GRPC_JS",
  );
  assertEquals(framedWritesUnavailable(), undefined);
  const reason = framedWritesUnavailable("1.99.0");
  assert(reason?.includes("1.99.0") && reason.includes(FRAMED_WRITER_GRPC_JS), reason);
});

/** Reads every event of a ListEvents call served by soma's event service assuming grpc-js `version`. */
async function listAll(
  version: string | undefined,
  count: number,
): Promise<{ tokens: number[]; fallbacks: string[] }> {
  const store = new InMemoryEventStore();
  const records = Array.from({ length: count }, (_, i) => ({
    id: `e${i}`,
    timestamp: 1_700_000_000_000 + i,
    payload: { type: "test.Event", revision: "", data: new Uint8Array(40 + (i % 50)).fill(i % 256) },
    metadata: {},
  }));
  await store.append(records);
  const shutdown = new AbortController();
  const fallbacks: string[] = [];
  const server = new Server({ interceptors: [axonInterceptor()] });
  server.addService(
    eventStoreDefinition(),
    eventStoreService({
      store,
      signal: shutdown.signal,
      grpcJsVersion: version,
      onFallback: (reason) => fallbacks.push(reason),
    }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => e ? reject(e) : resolve(p))
  );
  const client = new RawClient(port);
  try {
    const call = client.bidi(events.listEvents);
    const inbox = new Inbox<EventWithToken>(call);
    call.write(create(GetEventsRequestSchema, { trackingToken: 0n, numberOfPermits: BigInt(count) }));
    await inbox.next((m) => m.token === BigInt(count - 1));
    call.cancel();
    inbox.messages.forEach((m, i) =>
      assertEquals(new Uint8Array(m.event?.payload?.data ?? []), records[i].payload.data, `event ${i}`)
    );
    return { tokens: inbox.messages.map((m) => Number(m.token)), fallbacks };
  } finally {
    client.close();
    shutdown.abort();
    server.forceShutdown();
  }
}

Deno.test("ListEvents sends the same events in order on the framed fast path and on the per-message fallback", async () => {
  const count = 3_000;
  const expected = Array.from({ length: count }, (_, i) => i);
  const fast = await listAll(undefined, count);
  assertEquals(fast.tokens, expected);
  assertEquals(fast.fallbacks, []);
  const fallback = await listAll("1.99.0", count);
  assertEquals(fallback.tokens, expected);
  assertEquals(fallback.fallbacks.length, 1, "the fallback is reported once");
  assert(fallback.fallbacks[0].includes("1.99.0"), fallback.fallbacks[0]);
});
