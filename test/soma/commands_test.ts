/**
 * soma's CommandService with raw grpc-js handler streams and dispatchers.
 */
import { create } from "@bufbuild/protobuf";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { assert, assertEquals, eventually } from "../assert.ts";
import {
  type Command,
  type CommandProviderInbound,
  type CommandProviderOutbound,
  CommandProviderOutboundSchema,
  CommandSchema,
} from "../../src/gen/axon/command_pb.ts";
import { ProcessingKey } from "../../src/gen/axon/common_pb.ts";
import { ackOf, commands, flowControl, Inbox, RawClient, testSoma } from "./raw_client.ts";

/** A command handler connected over gRPC. */
class Handler {
  readonly call: ClientDuplexStream<CommandProviderOutbound, CommandProviderInbound>;
  readonly inbox: Inbox<CommandProviderInbound>;
  readonly received: Command[] = [];
  answer = true;

  constructor(client: RawClient, readonly clientId: string) {
    this.call = client.bidi(commands.openStream);
    this.inbox = new Inbox(this.call);
    this.call.on("data", (message: CommandProviderInbound) => {
      if (message.request.case !== "command") return;
      const command = message.request.value;
      this.received.push(command);
      if (this.answer) this.reply(command);
    });
  }

  send(request: CommandProviderOutbound["request"], instructionId = ""): void {
    this.call.write(create(CommandProviderOutboundSchema, { request, instructionId }));
  }

  async subscribe(command: string, loadFactor = 100): Promise<void> {
    const id = crypto.randomUUID();
    this.send({
      case: "subscribe",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.command.CommandSubscription",
        messageId: id,
        command,
        componentName: "c",
        clientId: this.clientId,
        loadFactor,
      },
    }, id);
    await this.inbox.next(ackOf(id));
  }

  permits(permits: number): void {
    this.send(flowControl(this.clientId, permits));
  }

  reply(command: Command, error = false): void {
    this.send({
      case: "commandResponse",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.command.CommandResponse",
        messageIdentifier: crypto.randomUUID(),
        requestIdentifier: command.messageIdentifier,
        errorCode: error ? "AXONIQ-4002" : "",
        errorMessage: error
          ? {
            $typeName: "io.axoniq.axonserver.grpc.ErrorMessage",
            message: "boom",
            location: this.clientId,
            details: [],
            errorCode: "AXONIQ-4002",
          }
          : undefined,
        payload: error ? undefined : {
          $typeName: "io.axoniq.axonserver.grpc.SerializedObject",
          type: "reply",
          revision: "",
          data: new TextEncoder().encode(this.clientId),
        },
        metaData: {},
        processingInstructions: [],
      },
    });
  }
}

function command(name: string, routingKey?: string, id: string = crypto.randomUUID()): Command {
  return create(CommandSchema, {
    messageIdentifier: id,
    name,
    timestamp: BigInt(Date.now()),
    payload: { type: name, revision: "", data: new Uint8Array([1, 2, 3]) },
    processingInstructions: routingKey === undefined
      ? []
      : [{ key: ProcessingKey.ROUTING_KEY, value: { data: { case: "textValue", value: routingKey } } }],
    clientId: "dispatcher",
    componentName: "d",
  });
}

Deno.test("soma commands: no handler answers AXONIQ-4000 in the response", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  try {
    const response = await client.unary(commands.dispatch, command("Nobody"));
    assertEquals(response.errorCode, "AXONIQ-4000");
    assert(response.errorMessage!.message.includes("Nobody"));
    assert(response.requestIdentifier !== "");
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma commands: nothing is dispatched before the first flow_control; then the handler answers", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  const handler = new Handler(client, "h1");
  try {
    await handler.subscribe("Greet");
    const pending = client.unary(commands.dispatch, command("Greet"));
    // the ack round trip proves the command reached soma, yet the handler got nothing
    await handler.subscribe("Other");
    assertEquals(handler.received.length, 0);
    handler.permits(2);
    const response = await pending;
    assertEquals(response.errorCode, "");
    assertEquals(new TextDecoder().decode(response.payload!.data), "h1");
    // permits are cumulative and counted: 1 left, then the next waits
    await client.unary(commands.dispatch, command("Greet"));
    const third = client.unary(commands.dispatch, command("Greet"));
    await handler.subscribe("Another");
    assertEquals(handler.received.length, 2);
    handler.permits(1);
    assertEquals((await third).errorCode, "");
    // an error response comes back in-band
    handler.answer = false;
    handler.permits(1);
    const failing = client.unary(commands.dispatch, command("Greet"));
    await eventually(() => handler.received.length === 4);
    handler.reply(handler.received[3], true);
    const failed = await failing;
    assertEquals(failed.errorCode, "AXONIQ-4002");
    assertEquals(failed.errorMessage?.message, "boom");
  } finally {
    handler.call.end();
    client.close();
    await dispose();
  }
});

Deno.test("soma commands: a duplicate message id gets AXONIQ-4005, a timeout AXONIQ-4002", async () => {
  const { soma, dispose } = await testSoma({ commandTimeoutMs: 300 });
  const client = new RawClient(soma.port);
  const handler = new Handler(client, "slow");
  handler.answer = false;
  try {
    await handler.subscribe("Slow");
    handler.permits(10);
    const first = client.unary(commands.dispatch, command("Slow", undefined, "same-id"));
    await eventually(() => handler.received.length === 1);
    const duplicate = await client.unary(commands.dispatch, command("Slow", undefined, "same-id"));
    assertEquals(duplicate.errorCode, "AXONIQ-4005");
    assertEquals((await first).errorCode, "AXONIQ-4002");
  } finally {
    handler.call.end();
    client.close();
    await dispose();
  }
});

Deno.test("soma commands: consistent hashing keeps a routing key on one handler and splits by load factor", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  const a = new Handler(client, "a");
  const b = new Handler(client, "b");
  try {
    // The load factors reach the ring over the wire: b holds three times a's points (the ring itself, against its
    // documented md5 formula, is tested in src/soma/commands_test.ts).
    await a.subscribe("Route", 100);
    await b.subscribe("Route", 300);
    a.permits(1_000);
    b.permits(1_000);
    const owner = async (key: string) =>
      new TextDecoder().decode((await client.unary(commands.dispatch, command("Route", key))).payload!.data);
    for (const key of ["x", "y", "z", "agg-1", "agg-2"]) {
      const first = await owner(key);
      assertEquals(await owner(key), first);
      assertEquals(await owner(key), first);
    }
    const counts = new Map<string, number>();
    await Promise.all(Array.from({ length: 400 }, async (_, i) => {
      const who = await owner(`key-${i}`);
      counts.set(who, (counts.get(who) ?? 0) + 1);
    }));
    const share = (counts.get("b") ?? 0) / 400;
    assert(
      share > 0.6 && share < 0.9,
      `b (load factor 300 against 100) took ${share * 100}%: ${[...counts]}`,
    );
  } finally {
    a.call.end();
    b.call.end();
    client.close();
    await dispose();
  }
});

Deno.test("soma commands: losing a handler re-routes its queued commands and fails in-flight ones with AXONIQ-4001", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  const lost = new Handler(client, "lost");
  lost.answer = false;
  try {
    await lost.subscribe("Work");
    lost.permits(1);
    const inFlight = client.unary(commands.dispatch, command("Work"));
    await eventually(() => lost.received.length === 1);
    const queued = client.unary(commands.dispatch, command("Work"));
    await lost.subscribe("Ping"); // round trip: the second command is queued for "lost"
    const survivor = new Handler(client, "survivor");
    await survivor.subscribe("Work");
    survivor.permits(10);
    lost.call.cancel();
    assertEquals((await inFlight).errorCode, "AXONIQ-4001");
    const rerouted = await queued;
    assertEquals(rerouted.errorCode, "");
    assertEquals(new TextDecoder().decode(rerouted.payload!.data), "survivor");
    survivor.call.end();
    // unsubscribe removes the registration
    const third = new Handler(client, "third");
    await third.subscribe("Gone");
    third.send({
      case: "unsubscribe",
      value: {
        $typeName: "io.axoniq.axonserver.grpc.command.CommandSubscription",
        messageId: "",
        command: "Gone",
        componentName: "c",
        clientId: "third",
        loadFactor: 0,
      },
    });
    await third.subscribe("Still");
    assertEquals((await client.unary(commands.dispatch, command("Gone"))).errorCode, "AXONIQ-4000");
    third.call.end();
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma commands: unknown instructions on the handler stream are acked with AXONIQ-1002", async () => {
  const { soma, dispose } = await testSoma();
  const client = new RawClient(soma.port);
  const handler = new Handler(client, "h");
  try {
    handler.send({ case: undefined }, "odd-1");
    const ack = await handler.inbox.next((m) =>
      m.request.case === "ack" && m.request.value.instructionId === "odd-1"
    );
    assert(ack.request.case === "ack");
    assertEquals(ack.request.value.success, false);
    assertEquals(ack.request.value.error?.errorCode, "AXONIQ-1002");
  } finally {
    handler.call.end();
    client.close();
    await dispose();
  }
});

Deno.test("soma commands: a Dispatch the caller gives up on leaves the handler's queue, answered ones do not", async () => {
  const { soma, dispose } = await testSoma({ commandTimeoutMs: 5_000 });
  const client = new RawClient(soma.port);
  const handler = new Handler(client, "h1");
  try {
    await handler.subscribe("Greet");
    // answered calls end with grpc-js' "cancelled" event as well: it must not touch what comes next
    handler.permits(2);
    assertEquals((await client.unary(commands.dispatch, command("Greet"))).errorCode, "");
    assertEquals((await client.unary(commands.dispatch, command("Greet"))).errorCode, "");
    // no permits left: this one waits in the queue until its deadline passes
    const gaveUp = command("Greet");
    const failure = await client.unary(commands.dispatch, gaveUp, { deadline: Date.now() + 300 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert(failure instanceof Error, "the caller's deadline ends the call");
    const next = command("Greet");
    const answered = client.unary(commands.dispatch, next);
    await handler.subscribe("Other"); // the ack round trip proves soma queued `next`
    handler.permits(1);
    assertEquals((await answered).errorCode, "");
    assertEquals(handler.received.map((c) => c.messageIdentifier).slice(2), [next.messageIdentifier]);
  } finally {
    handler.call.end();
    client.close();
    await dispose();
  }
});
