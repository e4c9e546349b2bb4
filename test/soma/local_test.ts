/**
 * In-process buses and gRPC clients share one routing table: in-process handlers are reached over gRPC and gRPC
 * handlers are reached in-process, for commands, queries and subscription queries.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  DomainError,
  MessageRegistry,
  NoHandlerError,
  queryOne,
  RemoteError,
} from "../../src/dendrite/mod.ts";
import {
  type CommandProviderInbound,
  CommandProviderOutboundSchema,
  CommandSchema,
} from "../../src/gen/axon/command_pb.ts";
import {
  GreetCommandSchema,
  GreeterStatusQuerySchema,
  GreeterStatusSchema,
  StopCommandSchema,
} from "../../src/gen/example/v1/domain_pb.ts";
import {
  type QueryProviderInbound,
  QueryProviderOutboundSchema,
  QueryRequestSchema,
  SubscriptionQueryRequestSchema,
  type SubscriptionQueryResponse,
} from "../../src/gen/axon/query_pb.ts";
import { collect, commands, Inbox, queries, RawClient, testSoma } from "./raw_client.ts";

const registry = () =>
  new MessageRegistry([GreetCommandSchema, StopCommandSchema, GreeterStatusSchema, GreeterStatusQuerySchema]);
const serialized = (type: string, data: Uint8Array) => ({
  $typeName: "io.axoniq.axonserver.grpc.SerializedObject" as const,
  type,
  revision: "",
  data,
});

Deno.test("soma in-process: a command dispatched over gRPC reaches an in-process handler and back", async () => {
  const { soma, dispose } = await testSoma({ registry: registry() });
  const client = new RawClient(soma.port);
  try {
    await soma.commandBus.subscribe(GreetCommandSchema, (command) => {
      if (command.payload.message === "refuse") throw new DomainError("EX001", "Greeter is not recording");
      return Promise.resolve(
        create(GreeterStatusSchema, {
          recording: true,
          greetingCount: BigInt(command.payload.message.length),
        }),
      );
    });
    const wire = (message: string) =>
      create(CommandSchema, {
        messageIdentifier: crypto.randomUUID(),
        name: GreetCommandSchema.typeName,
        payload: serialized(
          GreetCommandSchema.typeName,
          toBinary(GreetCommandSchema, create(GreetCommandSchema, { greeterId: "g", message })),
        ),
      });
    const response = await client.unary(commands.dispatch, wire("hello"));
    assertEquals(response.errorCode, "");
    assertEquals(response.payload?.type, GreeterStatusSchema.typeName);
    assertEquals(fromBinary(GreeterStatusSchema, response.payload!.data).greetingCount, 5n);
    const refused = await client.unary(commands.dispatch, wire("refuse"));
    // A domain refusal travels as a non-transient execution error carrying the domain code (see axon/protocol/errors.ts).
    assertEquals(refused.errorCode, "AXONIQ-4005");
    assertEquals(refused.errorMessage?.errorCode, "EX001");
    assertEquals(refused.errorMessage?.message, "Greeter is not recording");
    // in-process callers get the original error and typed results, with no encoding on the way
    const local = await soma.commandBus.dispatch(
      create(GreetCommandSchema, { greeterId: "g", message: "hey" }),
      { expect: GreeterStatusSchema },
    );
    assertEquals(local?.greetingCount, 3n);
    const domain = await assertRejects(
      () => soma.commandBus.dispatch(create(GreetCommandSchema, { message: "refuse" })),
      DomainError,
    );
    assertEquals(domain.code, "EX001");
    await assertRejects(() => soma.commandBus.dispatch(create(StopCommandSchema, {})), NoHandlerError);
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("soma in-process: an in-process dispatch reaches a gRPC command handler", async () => {
  const { soma, dispose } = await testSoma({ registry: registry() });
  const client = new RawClient(soma.port);
  const call = client.bidi(commands.openStream);
  try {
    call.on("data", (message: CommandProviderInbound) => {
      if (message.request.case !== "command") return;
      const command = message.request.value;
      const stop = fromBinary(StopCommandSchema, command.payload!.data);
      const fail = stop.greeterId === "fail";
      call.write(create(CommandProviderOutboundSchema, {
        request: {
          case: "commandResponse",
          value: {
            requestIdentifier: command.messageIdentifier,
            messageIdentifier: crypto.randomUUID(),
            errorCode: fail ? "AXONIQ-4002" : "",
            errorMessage: fail ? { message: "remote failure", location: "remote-handler" } : undefined,
            payload: fail ? undefined : serialized(
              GreeterStatusSchema.typeName,
              toBinary(
                GreeterStatusSchema,
                create(GreeterStatusSchema, { recording: false, greetingCount: 42n }),
              ),
            ),
          },
        },
      }));
    });
    const inbox = new Inbox(call);
    call.write(
      create(CommandProviderOutboundSchema, {
        request: {
          case: "subscribe",
          value: {
            messageId: "s",
            command: StopCommandSchema.typeName,
            clientId: "remote",
            componentName: "r",
          },
        },
        instructionId: "s",
      }),
    );
    call.write(
      create(CommandProviderOutboundSchema, {
        request: { case: "flowControl", value: { clientId: "remote", permits: 10n } },
      }),
    );
    await inbox.next((m) => m.request.case === "ack");
    const result = await soma.commandBus.dispatch(create(StopCommandSchema, { greeterId: "g" }), {
      expect: GreeterStatusSchema,
      routingKey: "g",
    });
    assertEquals(result?.greetingCount, 42n);
    const error = await assertRejects(
      () => soma.commandBus.dispatch(create(StopCommandSchema, { greeterId: "fail" })),
      RemoteError,
    );
    assertEquals(error.code, "AXONIQ-4002");
    assertEquals(error.location, "remote-handler");
  } finally {
    call.end();
    client.close();
    await dispose();
  }
});

Deno.test("soma in-process: queries and subscription queries cross between in-process and gRPC both ways", async () => {
  const { soma, dispose } = await testSoma({ registry: registry() });
  const client = new RawClient(soma.port);
  const handlerCall = client.bidi(queries.openStream);
  try {
    // in-process query handler, gRPC caller
    await soma.queryBus.subscribe(
      GreeterStatusQuerySchema,
      (query) =>
        Promise.resolve(
          create(GreeterStatusSchema, { greetingCount: BigInt(query.payload.greeterId.length) }),
        ),
      { component: "local" },
    );
    const responses = await collect(client.serverStream(
      queries.query,
      create(QueryRequestSchema, {
        messageIdentifier: crypto.randomUUID(),
        query: GreeterStatusQuerySchema.typeName,
        payload: serialized(
          GreeterStatusQuerySchema.typeName,
          toBinary(GreeterStatusQuerySchema, create(GreeterStatusQuerySchema, { greeterId: "abcd" })),
        ),
      }),
    ));
    assertEquals(responses.length, 1);
    assertEquals(fromBinary(GreeterStatusSchema, responses[0].payload!.data).greetingCount, 4n);

    // gRPC query handler (another component) answers in-process queries and emits subscription updates
    const subscriptions: string[] = [];
    handlerCall.on("data", (message: QueryProviderInbound) => {
      if (
        message.request.case === "subscriptionQueryRequest" &&
        message.request.value.request.case === "subscribe"
      ) {
        subscriptions.push(message.request.value.request.value.subscriptionIdentifier);
      }
      if (message.request.case !== "query") return;
      const query = message.request.value;
      handlerCall.write(create(QueryProviderOutboundSchema, {
        request: {
          case: "queryResponse",
          value: {
            requestIdentifier: query.messageIdentifier,
            messageIdentifier: crypto.randomUUID(),
            payload: serialized(
              GreeterStatusSchema.typeName,
              toBinary(GreeterStatusSchema, create(GreeterStatusSchema, { greetingCount: 100n })),
            ),
          },
        },
      }));
      handlerCall.write(
        create(QueryProviderOutboundSchema, {
          request: { case: "queryComplete", value: { requestId: query.messageIdentifier } },
        }),
      );
    });
    const handlerInbox = new Inbox(handlerCall);
    handlerCall.write(
      create(QueryProviderOutboundSchema, {
        request: {
          case: "subscribe",
          value: {
            messageId: "q",
            query: GreeterStatusQuerySchema.typeName,
            componentName: "remote",
            clientId: "remote",
          },
        },
        instructionId: "q",
      }),
    );
    handlerCall.write(
      create(QueryProviderOutboundSchema, {
        request: { case: "flowControl", value: { clientId: "remote", permits: 100n } },
      }),
    );
    await handlerInbox.next((m) => m.request.case === "ack");
    const all = [];
    for await (const response of soma.queryBus.query(create(GreeterStatusQuerySchema, { greeterId: "xy" }))) {
      all.push(response);
    }
    assertEquals(
      all.map((r) => (r as ReturnType<typeof create<typeof GreeterStatusSchema>>).greetingCount).sort(),
      [100n, 2n],
    );

    // in-process subscriber; updates from the gRPC handler and from in-process emitUpdate
    const live = await soma.queryBus.subscriptionQuery(
      create(GreeterStatusQuerySchema, { greeterId: "live" }),
    );
    assertEquals(live.initial.length, 2);
    const subscriptionId = subscriptions.at(-1)!;
    handlerCall.write(create(QueryProviderOutboundSchema, {
      request: {
        case: "subscriptionQueryResponse",
        value: {
          subscriptionIdentifier: subscriptionId,
          response: {
            case: "update",
            value: {
              messageIdentifier: "u",
              payload: serialized(
                GreeterStatusSchema.typeName,
                toBinary(GreeterStatusSchema, create(GreeterStatusSchema, { greetingCount: 7n })),
              ),
            },
          },
        },
      },
    }));
    soma.queryBus.emitUpdate(
      { query: GreeterStatusQuerySchema, where: (q) => q.greeterId === "live" },
      create(GreeterStatusSchema, { greetingCount: 8n }),
    );
    soma.queryBus.emitUpdate(
      { query: GreeterStatusQuerySchema, where: (q) => q.greeterId === "other" },
      create(GreeterStatusSchema, { greetingCount: 99n }),
    );
    const seen: bigint[] = [];
    for await (const update of live.updates) {
      seen.push((update as ReturnType<typeof create<typeof GreeterStatusSchema>>).greetingCount);
      if (seen.length === 2) soma.queryBus.completeSubscriptions({ query: GreeterStatusQuerySchema });
    }
    assertEquals(seen.sort(), [7n, 8n]); // the gRPC update and the in-process one race

    // gRPC subscriber; update from in-process emitUpdate
    const subscriber = client.bidi(queries.subscription);
    const subscriberInbox = new Inbox<SubscriptionQueryResponse>(subscriber);
    subscriber.write(
      create(SubscriptionQueryRequestSchema, {
        request: { case: "flowControl", value: { numberOfPermits: 10n } },
      }),
    );
    subscriber.write(create(SubscriptionQueryRequestSchema, {
      request: {
        case: "subscribe",
        value: {
          subscriptionIdentifier: "remote-sub",
          queryRequest: {
            messageIdentifier: "remote-sub",
            query: GreeterStatusQuerySchema.typeName,
            payload: serialized(
              GreeterStatusQuerySchema.typeName,
              toBinary(GreeterStatusQuerySchema, create(GreeterStatusQuerySchema, { greeterId: "wire" })),
            ),
          },
        },
      },
    }));
    await handlerInbox.next((m) =>
      m.request.case === "subscriptionQueryRequest" &&
      m.request.value.request.value?.subscriptionIdentifier === "remote-sub"
    );
    soma.queryBus.emitUpdate(
      { query: GreeterStatusQuerySchema, where: (q) => q.greeterId === "wire" },
      create(GreeterStatusSchema, { greetingCount: 5n }),
    );
    const update = await subscriberInbox.next((m) => m.response.case === "update");
    assert(update.response.case === "update");
    assertEquals(fromBinary(GreeterStatusSchema, update.response.value.payload!.data).greetingCount, 5n);
    subscriber.end();
    assertEquals(
      (await queryOne(
        soma.queryBus,
        create(GreeterStatusQuerySchema, { greeterId: "a" }),
        GreeterStatusSchema,
      )).$typeName,
      GreeterStatusSchema.typeName,
    );
  } finally {
    handlerCall.end();
    client.close();
    await dispose();
  }
});
