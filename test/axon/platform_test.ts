/**
 * The connector's platform stream against a scripted server (raw grpc-js, no soma): it registers, answers server
 * heartbeats, reconnects when its own heartbeats go unacknowledged, and reconnects when the server asks for it.
 */
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { AxonConnection } from "../../src/dendrite/axon/mod.ts";
import { grpcService, type GrpcServiceImplementation } from "../../src/dendrite/axon/protocol/grpc.ts";
import {
  HeartbeatSchema,
  NodeInfoSchema,
  type PlatformInboundInstruction,
  PlatformInfoSchema,
  type PlatformOutboundInstruction,
  PlatformOutboundInstructionSchema,
  PlatformService,
  RequestReconnectSchema,
} from "../../src/gen/axon/control_pb.ts";
import { assert, assertEquals, eventually } from "../assert.ts";
import { bindLoopback } from "./fixture.ts";

type Stream = grpc.ServerDuplexStream<PlatformInboundInstruction, PlatformOutboundInstruction>;

/** A platform-only server whose behaviour each test scripts. */
async function scriptedServer(onStream: (stream: Stream, received: PlatformInboundInstruction[]) => void) {
  const server = new grpc.Server();
  let platformServerCalls = 0;
  const streams: { stream: Stream; received: PlatformInboundInstruction[] }[] = [];
  const implementation: Partial<GrpcServiceImplementation<typeof PlatformService.method>> = {
    getPlatformServer: (_call, callback) => {
      platformServerCalls++;
      callback(null, create(PlatformInfoSchema, { sameConnection: true, primary: create(NodeInfoSchema) }));
    },
    openStream: (stream: Stream) => {
      const received: PlatformInboundInstruction[] = [];
      streams.push({ stream, received });
      stream.on("data", (message: PlatformInboundInstruction) => received.push(message));
      stream.on("error", () => {});
      onStream(stream, received);
    },
  };
  server.addService(grpcService(PlatformService), implementation as grpc.UntypedServiceImplementation);
  const port = await bindLoopback(server);
  return { port, streams, calls: () => platformServerCalls, close: () => server.forceShutdown() };
}

const outbound = (request: PlatformOutboundInstruction["request"], instructionId = "") =>
  create(PlatformOutboundInstructionSchema, { request, instructionId });

Deno.test({
  name: "connector platform stream: registers, acks and answers server heartbeats",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await scriptedServer((stream) => {
      stream.write(outbound({ case: "heartbeat", value: create(HeartbeatSchema) }, "hb-1"));
    });
    const connection = await AxonConnection.connect(
      {
        address: `127.0.0.1:${server.port}`,
        componentName: "platform-test",
        heartbeat: false,
        onStateChange: () => {},
      },
      AbortSignal.timeout(10_000),
    );
    try {
      await eventually(() => server.streams.length >= 1, 5_000, "the platform stream");
      const { received } = server.streams[0];
      await eventually(() => received.length >= 3, 5_000, "register, ack and heartbeat");
      assertEquals(received[0].request.case, "register");
      const register = received[0].request.value as { componentName: string; version: string };
      assertEquals([register.componentName, register.version], ["platform-test", "4.6"]);
      assert(received.some((m) => m.request.case === "ack" && m.request.value.instructionId === "hb-1"));
      assert(received.some((m) => m.request.case === "heartbeat"), "a heartbeat back to the server");
    } finally {
      await connection.close();
      server.close();
    }
  },
});

Deno.test({
  name: "connector platform stream: reconnects when its heartbeats are not acknowledged",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await scriptedServer(() => {}); // never acks anything
    const connection = await AxonConnection.connect(
      {
        address: `127.0.0.1:${server.port}`,
        componentName: "platform-test",
        heartbeat: { intervalMs: 100, timeoutMs: 200 },
        onStateChange: () => {},
      },
      AbortSignal.timeout(10_000),
    );
    try {
      await eventually(
        () => server.calls() >= 2,
        10_000,
        "a second GetPlatformServer after the heartbeat timeout",
      );
      const heartbeats = server.streams[0].received.filter((m) => m.request.case === "heartbeat");
      assert(
        heartbeats.length >= 1 && heartbeats.every((m) => m.instructionId !== ""),
        "heartbeats carry ids",
      );
    } finally {
      await connection.close();
      server.close();
    }
  },
});

Deno.test({
  name: "connector platform stream: reconnects when the server asks for it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let asked = false;
    const server = await scriptedServer((stream) => {
      if (asked) return;
      asked = true;
      stream.write(outbound({ case: "requestReconnect", value: create(RequestReconnectSchema) }, "rr-1"));
    });
    const connection = await AxonConnection.connect(
      {
        address: `127.0.0.1:${server.port}`,
        componentName: "platform-test",
        heartbeat: false,
        onStateChange: () => {},
      },
      AbortSignal.timeout(10_000),
    );
    try {
      await eventually(() => server.streams.length >= 2, 10_000, "a second platform stream");
      await eventually(() => server.streams[1].received.length > 0, 5_000, "the second registration");
      assertEquals(server.streams[1].received[0].request.case, "register");
      assertEquals(server.calls(), 2);
    } finally {
      await connection.close();
      server.close();
    }
  },
});
