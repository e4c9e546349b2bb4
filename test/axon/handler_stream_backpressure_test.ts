/**
 * A handler that sends faster than the server takes (a projection emitting updates) must not queue without
 * bound in its own process: `BidiStream.drained` waits while the stream's window is full, over gRPC (grpc-js's
 * send buffer behind HTTP/2 flow control, against a raw grpc-js server that stops reading) and over a
 * `MessagePort` (soma's credit, against soma's own `PortCall`). Nothing sent is lost either way; a sender that
 * never waits fails its stream at the unsent limit instead of growing without bound.
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ChannelOverflowError } from "../../src/dendrite/core/channel.ts";
import { portBidi } from "../../src/dendrite/axon/port_stream.ts";
import { grpcService } from "../../src/dendrite/axon/protocol/grpc.ts";
import { PORT_STREAM_WINDOW } from "../../src/dendrite/axon/protocol/port_frames.ts";
import { Rpc } from "../../src/dendrite/axon/rpc.ts";
import {
  type QueryProviderInbound,
  type QueryProviderOutbound,
  QueryProviderOutboundSchema,
  QueryService,
} from "../../src/gen/axon/query_pb.ts";
import { PortCall } from "../../src/soma/port_call.ts";
import { assert, assertEquals, assertRejects, eventually, within } from "../assert.ts";
import { bindLoopback } from "./fixture.ts";

/** An outbound message of `size` bytes (a query update's worth of payload). */
const outbound = (n: number, size: number) =>
  create(QueryProviderOutboundSchema, { instructionId: `${n}-${"x".repeat(size)}` });

/** Whether `promise` has settled once the microtasks queued now have run (no timers involved). */
async function settledNow(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return settled;
}

/**
 * A raw grpc-js server whose QueryService `OpenStream` pauses its stream (reads nothing until `resume`), and a
 * client channel to it; `received` lists what it read (each message's number).
 */
async function pausedServer() {
  const received: string[] = [];
  const opened = Promise.withResolvers<
    grpc.ServerDuplexStream<QueryProviderOutbound, QueryProviderInbound>
  >();
  const server = new grpc.Server();
  server.addService(grpcService(QueryService), {
    openStream: (stream: grpc.ServerDuplexStream<QueryProviderOutbound, QueryProviderInbound>) => {
      stream.pause();
      stream.on(
        "data",
        (message: QueryProviderOutbound) => received.push(message.instructionId.split("-")[0]),
      );
      stream.on("error", () => {});
      stream.on("end", () => stream.end());
      opened.resolve(stream);
    },
  } as grpc.UntypedServiceImplementation);
  const client = new grpc.Client(
    `127.0.0.1:${await bindLoopback(server)}`,
    grpc.credentials.createInsecure(),
  );
  return {
    received,
    rpc: new Rpc(client, () => new grpc.Metadata()),
    /** Resolves once the client's stream reached the server. */
    opened: () => within(opened.promise, 10_000, "the server's stream"),
    resume: async () => (await opened.promise).resume(),
    close: () => {
      client.close();
      server.forceShutdown();
    },
  };
}

Deno.test("gRPC handler stream: drained waits while the server does not read, and nothing sent is lost", async () => {
  const server = await pausedServer();
  try {
    const stream = server.rpc.bidi(QueryService.method.openStream);
    stream.send(outbound(0, 10));
    await server.opened();
    // ~6 MB: far beyond HTTP/2's 64 KiB windows and the sockets' buffers, so most of it waits in grpc-js.
    const total = 100;
    for (let n = 1; n < total; n++) stream.send(outbound(n, 64 * 1024));
    const drained = stream.drained();
    assert(!await settledNow(drained), "drained while the server reads nothing");
    // The server starts reading: the send buffer empties, and every message arrives in order.
    await server.resume();
    await within(drained, 20_000, "drained once the server reads");
    await eventually(() => server.received.length === total, 20_000, `all ${total} messages`);
    assertEquals(server.received, Array.from({ length: total }, (_, n) => String(n)));
    assert(await settledNow(stream.drained()), "drained at once when there is room");
    stream.end();
  } finally {
    server.close();
  }
});

Deno.test("port handler stream: the client may run a window ahead of soma's PortCall, no more", async () => {
  const { port1, port2 } = new MessageChannel();
  const server = new PortCall<QueryProviderOutbound, QueryProviderInbound>(port2);
  const received: string[] = [];
  server.on("data", (message: QueryProviderOutbound) => received.push(message.instructionId.split("-")[0]));
  const client = portBidi<QueryProviderOutbound, QueryProviderInbound>(port1);
  try {
    // Within the window: room at once.
    for (let n = 0; n < PORT_STREAM_WINDOW - 1; n++) client.send(outbound(n, 10));
    assert(await settledNow(client.drained()), "drained within the window");
    // Three windows' worth: the client waits for soma's credit, which comes only after soma took them.
    const total = 3 * PORT_STREAM_WINDOW;
    for (let n = PORT_STREAM_WINDOW - 1; n < total; n++) client.send(outbound(n, 10));
    const drained = client.drained();
    assert(!await settledNow(drained), "drained before soma took anything");
    await within(drained, 10_000, "soma's credit");
    assert(received.length > total - PORT_STREAM_WINDOW, `soma took ${received.length} of ${total}`);
    await eventually(() => received.length === total, 10_000, `all ${total} messages`);
    assertEquals(received, Array.from({ length: total }, (_, n) => String(n)));
  } finally {
    client.cancel();
  }
});

Deno.test("port handler stream: a wait for credit ends when the server ends the stream", async () => {
  const { port1, port2 } = new MessageChannel();
  let taken = 0;
  // A server end that takes messages but never gives credit (not soma's PortCall).
  port2.onmessage = () => taken++;
  const client = portBidi<QueryProviderOutbound, QueryProviderInbound>(port1);
  for (let n = 0; n <= PORT_STREAM_WINDOW; n++) client.send(outbound(n, 10));
  const drained = client.drained();
  await eventually(() => taken === PORT_STREAM_WINDOW + 1, 10_000, "the server taking the window and one");
  assert(!await settledNow(drained), "drained without credit");
  port2.postMessage({ kind: "end" });
  await within(drained, 10_000, "drained once the stream is over");
  port2.close();
});

Deno.test("gRPC handler stream: a sender that never waits fails the stream at its unsent limit, not the process", async () => {
  const server = await pausedServer();
  try {
    const stream = server.rpc.bidi(QueryService.method.openStream, { unsentLimit: 40 });
    stream.send(outbound(0, 10));
    await server.opened();
    for (let n = 1; n < 200; n++) stream.send(outbound(n, 64 * 1024));
    const reading = (async () => {
      for await (const _ of stream.responses);
    })();
    await assertRejects(() => within(reading, 10_000, "the stream's end"), ChannelOverflowError, "40 items");
    assert(await settledNow(stream.drained()), "drained once the stream is over");
  } finally {
    server.close();
  }
});

Deno.test("port handler stream: a sender that never waits fails the stream at its unsent limit", async () => {
  const { port1, port2 } = new MessageChannel();
  let taken = 0;
  let cancelled = false;
  // A server end that takes messages but never gives credit.
  port2.onmessage = (event: MessageEvent<{ kind: string }>) => {
    if (event.data.kind === "cancel") cancelled = true;
    else taken++;
  };
  const client = portBidi<QueryProviderOutbound, QueryProviderInbound>(port1, undefined, {
    unsentLimit: 100,
  });
  for (let n = 0; n < 150; n++) client.send(outbound(n, 10));
  const reading = (async () => {
    for await (const _ of client.responses);
  })();
  await assertRejects(() => within(reading, 10_000, "the stream's end"), ChannelOverflowError, "100 items");
  await eventually(() => cancelled, 10_000, "the server told the stream is cancelled");
  assertEquals(taken, 100, "what was sent before the limit arrived; nothing after it");
  port2.close();
});
