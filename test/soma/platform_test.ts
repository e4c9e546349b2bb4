/**
 * soma's PlatformService and HTTP status surface, and transport rules (context, token, bad input, keepalive,
 * reconnects), with a raw grpc-js client.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { status as Status } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { assert, assertEquals, assertRejects, eventually } from "../assert.ts";
import {
  type PlatformInboundInstruction,
  PlatformInboundInstructionSchema,
  type PlatformOutboundInstruction,
} from "../../src/gen/axon/control_pb.ts";
import { EventSchema } from "../../src/gen/axon/event_pb.ts";
import { CommandProviderOutboundSchema } from "../../src/gen/axon/command_pb.ts";
import { commands, errorCode, events, Inbox, platform, RawClient, testSoma } from "./raw_client.ts";
import { PingRelay } from "./ping_relay.ts";

const identification = (clientId: string, version: string) => ({
  $typeName: "io.axoniq.axonserver.grpc.control.ClientIdentification" as const,
  clientId,
  componentName: "app",
  tags: {},
  version,
});

function inbound(
  request: PlatformInboundInstruction["request"],
  instructionId = "",
): PlatformInboundInstruction {
  return create(PlatformInboundInstructionSchema, { request, instructionId });
}

const lastToken = { $typeName: "io.axoniq.axonserver.grpc.event.GetLastTokenRequest" } as const;

Deno.test("soma platform: GetPlatformServer, register, acks, heartbeats both ways, unknown → AXONIQ-1002", async () => {
  const { soma, dispose } = await testSoma({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 60_000 });
  const client = new RawClient(soma.port);
  try {
    const info = await client.unary(platform.getPlatformServer, identification("c1", "4.6"));
    assertEquals(info.sameConnection, true);
    assertEquals(info.primary?.grpcPort, soma.port);
    assertEquals(info.primary?.httpPort, soma.httpPort);
    const modern = client.bidi(platform.openStream);
    const inbox = new Inbox<PlatformOutboundInstruction>(modern);
    modern.write(inbound({ case: "register", value: identification("c1", "4.6") }, "reg"));
    await inbox.next((m) =>
      m.request.case === "ack" && m.request.value.instructionId === "reg" && m.request.value.success
    );
    modern.write(
      inbound(
        { case: "heartbeat", value: { $typeName: "io.axoniq.axonserver.grpc.control.Heartbeat" } },
        "hb",
      ),
    );
    await inbox.next((m) =>
      m.request.case === "ack" && m.request.value.instructionId === "hb" && m.request.value.success
    );
    await inbox.next((m) => m.request.case === "heartbeat");
    modern.write(inbound({ case: undefined }, "odd"));
    const odd = await inbox.next((m) => m.request.case === "ack" && m.request.value.instructionId === "odd");
    assert(odd.request.case === "ack");
    assertEquals(odd.request.value.error?.errorCode, "AXONIQ-1002");
    // an old client gets no heartbeats
    const old = client.bidi(platform.openStream);
    const oldInbox = new Inbox<PlatformOutboundInstruction>(old);
    old.write(inbound({ case: "register", value: identification("c-old", "4.1") }, "reg-old"));
    await oldInbox.next((m) => m.request.case === "ack");
    const beatsBefore = inbox.messages.filter((m) => m.request.case === "heartbeat").length;
    await eventually(() =>
      inbox.messages.filter((m) => m.request.case === "heartbeat").length > beatsBefore + 2
    );
    assertEquals(oldInbox.messages.filter((m) => m.request.case === "heartbeat").length, 0);
    const status = await soma.status();
    assertEquals(status.clients.map((c) => [c.clientId, c.heartbeats]).sort(), [["c-old", false], [
      "c1",
      true,
    ]]);
    modern.end();
    old.end();
    await eventually(async () => (await soma.status()).clients.length === 0);
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma platform: a silent heartbeat client is dropped, with its command streams", async () => {
  const { soma, dispose } = await testSoma({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300 });
  const client = new RawClient(soma.port);
  try {
    const call = client.bidi(platform.openStream);
    const inbox = new Inbox<PlatformOutboundInstruction>(call);
    call.write(inbound({ case: "register", value: identification("silent", "4.6") }, "reg"));
    await inbox.next((m) => m.request.case === "ack");
    await inbox.done(5_000);
    assertEquals(inbox.error?.code, Status.ABORTED);
    assertEquals(errorCode(inbox.error), "AXONIQ-6001");
    assertEquals((await soma.status()).clients.length, 0);
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma platform: a client whose handler stream keeps delivering stays, though its heartbeats are late", async () => {
  const { soma, dispose } = await testSoma({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300 });
  const client = new RawClient(soma.port);
  try {
    const call = client.bidi(platform.openStream);
    const inbox = new Inbox<PlatformOutboundInstruction>(call);
    call.write(inbound({ case: "register", value: identification("busy", "4.6") }, "reg"));
    await inbox.next((m) => m.request.case === "ack");
    // No heartbeat on the platform stream; a command stream of the same client delivers every 50 ms, as a flood
    // of messages on one connection would while a heartbeat waits behind it.
    const stream = client.bidi(commands.openStream);
    const flow = (permits: number) =>
      stream.write(create(CommandProviderOutboundSchema, {
        request: { case: "flowControl", value: { clientId: "busy", permits: BigInt(permits) } },
      }));
    for (let i = 0; i < 20; i++) {
      flow(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assertEquals((await soma.status()).clients.map((c) => c.clientId), ["busy"], "still connected after 1 s");
    // Once nothing arrives at all, it is dropped as before.
    await inbox.done(5_000);
    assertEquals(errorCode(inbox.error), "AXONIQ-6001");
    stream.end();
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma platform: processor reports reach /v1/processors; actions send instructions and track ack + result", async () => {
  const { soma, dispose } = await testSoma({ instructionTimeoutMs: 5_000 });
  const client = new RawClient(soma.port);
  try {
    await client.clientStream(
      events.appendEvent,
      Array.from(
        { length: 10 },
        () => create(EventSchema, { messageIdentifier: crypto.randomUUID(), payload: { type: "t" } }),
      ),
    );
    const call = client.bidi(platform.openStream);
    const inbox = new Inbox<PlatformOutboundInstruction>(call);
    call.write(inbound({ case: "register", value: identification("worker", "4.6") }, "reg"));
    await inbox.next((m) => m.request.case === "ack");
    call.write(inbound({
      case: "eventProcessorInfo",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.control.EventProcessorInfo",
        processorName: "greetings",
        mode: "Tracking",
        activeThreads: 1,
        running: true,
        error: false,
        availableThreads: 0,
        tokenStoreIdentifier: "ts",
        isStreamingProcessor: true,
        loadBalancingStrategyName: "",
        segmentStatus: [{
          $typeName: "io.axoniq.axonserver.grpc.control.EventProcessorInfo.SegmentStatus",
          segmentId: 0,
          caughtUp: false,
          replaying: false,
          onePartOf: 1,
          tokenPosition: 6n,
          errorState: "",
        }],
      },
    }, "info"));
    await inbox.next((m) => m.request.case === "ack" && m.request.value.instructionId === "info");
    const base = `http://127.0.0.1:${soma.httpPort}`;
    const processors = await (await fetch(`${base}/v1/processors`)).json();
    assertEquals(processors[0].name, "greetings");
    assertEquals(processors[0].instances[0].segments[0].tokenPosition, 6);
    assertEquals(processors[0].instances[0].segments[0].lag, 3);
    const html = await (await fetch(`${base}/`)).text();
    assert(html.includes("<title>soma</title>"));
    // the client acks the split and reports its result
    call.on("data", (message: PlatformOutboundInstruction) => {
      if (
        message.request.case !== "splitEventProcessorSegment" &&
        message.request.case !== "pauseEventProcessor"
      ) return;
      call.write(
        inbound({
          case: "ack",
          value: {
            $typeName: "io.axoniq.axonserver.grpc.InstructionAck",
            instructionId: message.instructionId,
            success: true,
          },
        }),
      );
      call.write(inbound({
        case: "result",
        value: {
          $typeName: "io.axoniq.axonserver.grpc.InstructionResult",
          instructionId: message.instructionId,
          success: message.request.case === "splitEventProcessorSegment",
          error: message.request.case === "splitEventProcessorSegment" ? undefined : {
            $typeName: "io.axoniq.axonserver.grpc.ErrorMessage",
            message: "cannot pause",
            location: "worker",
            details: [],
            errorCode: "AXONIQ-1004",
          },
        },
      }));
    });
    const split = await fetch(`${base}/v1/processors/greetings/split?segment=0`, { method: "POST" });
    const splitBody = await split.json();
    assertEquals(split.status, 200);
    assertEquals(splitBody.remote[0].ack.success, true);
    assertEquals(splitBody.remote[0].result.success, true);
    const pause = await fetch(`${base}/v1/processors/greetings/pause`, { method: "POST" });
    const pauseBody = await pause.json();
    assertEquals(pause.status, 502);
    assertEquals(pauseBody.remote[0].result.errorCode, "AXONIQ-1004");
    const unknown = await fetch(`${base}/v1/processors/nope/start`, { method: "POST" });
    assertEquals(unknown.status, 404);
    await unknown.body?.cancel();
    const status = await (await fetch(`${base}/v1/status`)).json();
    assertEquals(status.clients[0].clientId, "worker");
    assertEquals(status.events.lastToken, 9);
    call.end();
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma transport: other contexts and bad tokens are refused with the AxonIQ-ErrorCode trailer", async () => {
  const { soma, dispose } = await testSoma({ accessToken: "s3cret" });
  const good = new RawClient(soma.port, { token: "s3cret" });
  const other = new RawClient(soma.port, { token: "s3cret", context: "elsewhere" });
  const missing = new RawClient(soma.port);
  const wrong = new RawClient(soma.port, { token: "nope" });
  try {
    assertEquals((await good.unary(events.getLastToken, lastToken)).token, -1n);
    const notFound = await assertRejects(() => other.unary(events.getLastToken, lastToken));
    assertEquals((notFound as unknown as { code: number }).code, Status.NOT_FOUND);
    assertEquals(errorCode(notFound), "AXONIQ-1302");
    const noToken = await assertRejects(() => missing.unary(events.getLastToken, lastToken));
    assertEquals((noToken as unknown as { code: number }).code, Status.PERMISSION_DENIED);
    assertEquals(errorCode(noToken), "AXONIQ-1000");
    const badToken = await assertRejects(() => wrong.unary(events.getLastToken, lastToken));
    assertEquals(errorCode(badToken), "AXONIQ-1001");
    // streams are refused too
    const stream = new Inbox(wrong.bidi(platform.openStream));
    await stream.done();
    assertEquals(errorCode(stream.error), "AXONIQ-1001");
  } finally {
    for (const c of [good, other, missing, wrong]) c.close();
    await dispose();
  }
});

Deno.test("soma transport: invalid protobuf and oversized messages get a clear status; soma keeps serving", async () => {
  const { soma, dispose } = await testSoma({ maxMessageSize: 64 * 1024 });
  const client = new RawClient(soma.port);
  try {
    const garbage = await assertRejects(() =>
      new Promise((resolve, reject) =>
        client.client.makeUnaryRequest(
          events.getTokenAt.path,
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
          client.metadata(),
          {},
          (error, value) => (error ? reject(error) : resolve(value)),
        )
      )
    );
    assertEquals((garbage as unknown as { code: number }).code, Status.INVALID_ARGUMENT);
    assertEquals(errorCode(garbage), "AXONIQ-0001");
    const big = create(EventSchema, {
      messageIdentifier: "big",
      payload: { type: "t", data: new Uint8Array(100 * 1024) },
    });
    assert(toBinary(EventSchema, big).length > 64 * 1024);
    const oversized = await assertRejects(() => client.clientStream(events.appendEvent, [big]));
    assertEquals((oversized as unknown as { code: number }).code, Status.RESOURCE_EXHAUSTED);
    assertEquals(errorCode(oversized), "AXONIQ-2001");
    assertEquals((await client.unary(events.getLastToken, lastToken)).token, -1n);
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma transport: accepts 1 s keepalive pings and serves reconnecting clients", async () => {
  const { soma, dispose } = await testSoma();
  // The client talks to soma through a relay that counts the HTTP/2 PINGs and soma's acknowledgements.
  const relay = new PingRelay(soma.port);
  const pinging = new RawClient(relay.port, {
    channel: {
      "grpc.keepalive_time_ms": 1_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 1,
    },
  });
  try {
    const call = pinging.bidi(platform.openStream);
    const inbox = new Inbox<PlatformOutboundInstruction>(call);
    call.write(inbound({ case: "register", value: identification("pinger", "4.6") }, "r"));
    await inbox.next((m) => m.request.case === "ack");
    // Two keepalive pings go by on the idle stream, each acknowledged by soma; the stream must survive them.
    await relay.until(() => relay.acks >= 2, AbortSignal.timeout(10_000));
    assert(relay.pings >= 2, `${relay.pings} pings sent`);
    call.write(
      inbound(
        { case: "heartbeat", value: { $typeName: "io.axoniq.axonserver.grpc.control.Heartbeat" } },
        "h",
      ),
    );
    await inbox.next((m) => m.request.case === "ack" && m.request.value.instructionId === "h");
    assertEquals(inbox.error, undefined);
    call.cancel();
    pinging.close();
    for (let i = 0; i < 3; i++) {
      const again = new RawClient(soma.port);
      const stream = again.bidi(platform.openStream);
      const replies = new Inbox<PlatformOutboundInstruction>(stream);
      stream.write(inbound({ case: "register", value: identification("pinger", "4.6") }, `r${i}`));
      await replies.next((m) => m.request.case === "ack");
      stream.cancel();
      again.close();
    }
    await eventually(async () => (await soma.status()).clients.length === 0);
  } finally {
    pinging.close();
    await relay.close();
    await dispose();
  }
});
