/**
 * Subscription queries from the connector under a slow consumer: permits go back to the server only as the
 * consumer takes updates (once each), so the server's outstanding updates stay within the buffer, nothing is lost
 * and the consumer never gets a `ChannelOverflowError`. Against a scripted server that sends exactly as its permits
 * allow (as Axon Server does) and end to end through soma.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { AxonConnection, AxonQueryBus } from "../../src/dendrite/axon/mod.ts";
import { grpcService } from "../../src/dendrite/axon/protocol/grpc.ts";
import { MessageRegistry } from "../../src/dendrite/mod.ts";
import { NodeInfoSchema, PlatformInfoSchema, PlatformService } from "../../src/gen/axon/control_pb.ts";
import {
  QueryResponseSchema,
  QueryService,
  type SubscriptionQueryRequest,
  type SubscriptionQueryResponse,
  SubscriptionQueryResponseSchema,
} from "../../src/gen/axon/query_pb.ts";
import { GreetingsQuerySchema } from "../../src/gen/example/v1/domain_pb.ts";
import { type Greeting, GreetingSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals, eventually } from "../assert.ts";
import { bindLoopback, connector, startServer } from "./fixture.ts";

const greeting = (n: number) => create(GreetingSchema, { message: `u${n}` });
const payload = (n: number) => ({
  type: GreetingSchema.typeName,
  data: toBinary(GreetingSchema, greeting(n)),
});

/** A server whose `Subscription` sends `total` updates exactly as the caller's permits allow. */
async function permitObeyingServer(total: number) {
  const state = {
    granted: 0,
    sent: 0,
    flowControls: [] as number[],
    subscribes: 0,
    initialAfterSubscribe: false,
  };
  const server = new grpc.Server();
  server.addService(grpcService(PlatformService), {
    getPlatformServer: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, create(PlatformInfoSchema, { sameConnection: true, primary: create(NodeInfoSchema) })),
    openStream: (stream: grpc.ServerDuplexStream<unknown, unknown>) => stream.on("error", () => {}),
  } as grpc.UntypedServiceImplementation);
  server.addService(grpcService(QueryService), {
    subscription: (call: grpc.ServerDuplexStream<SubscriptionQueryRequest, SubscriptionQueryResponse>) => {
      let id = "";
      const pump = () => {
        while (id !== "" && state.sent < state.granted && state.sent < total) {
          call.write(create(SubscriptionQueryResponseSchema, {
            subscriptionIdentifier: id,
            response: {
              case: "update",
              value: { messageIdentifier: `m${state.sent}`, payload: payload(state.sent) },
            },
          }));
          state.sent++;
        }
      };
      call.on("data", (message: SubscriptionQueryRequest) => {
        const request = message.request;
        if (request.case === "subscribe") {
          state.subscribes++;
          state.granted += Number(request.value.numberOfPermits);
          id = request.value.subscriptionIdentifier;
        } else if (request.case === "getInitialResult") {
          // Asked on the subscription stream, after the subscribe (the connector makes no separate query).
          state.initialAfterSubscribe = state.subscribes === 1;
          call.write(create(SubscriptionQueryResponseSchema, {
            subscriptionIdentifier: id,
            response: {
              case: "initialResult",
              value: create(QueryResponseSchema, { messageIdentifier: "initial", payload: payload(-1) }),
            },
          }));
        } else if (request.case === "flowControl") {
          state.flowControls.push(Number(request.value.numberOfPermits));
          state.granted += Number(request.value.numberOfPermits);
        } else if (request.case === "unsubscribe") {
          call.end();
          return;
        }
        pump();
      });
      call.on("error", () => {});
    },
  } as grpc.UntypedServiceImplementation);
  const port = await bindLoopback(server);
  return { port, state, close: () => server.forceShutdown() };
}

Deno.test({
  name: "connector subscription query: permits follow consumption, once; outstanding stays within the buffer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const total = 1_000;
    const bufferSize = 32;
    const server = await permitObeyingServer(total);
    const connection = await AxonConnection.connect(
      {
        address: `127.0.0.1:${server.port}`,
        componentName: "slow",
        heartbeat: false,
        onStateChange: () => {},
      },
      AbortSignal.timeout(10_000),
    );
    const registry = new MessageRegistry();
    registry.add(GreetingSchema);
    registry.add(GreetingsQuerySchema);
    const bus = new AxonQueryBus(connection, registry);
    try {
      const live = await bus.subscriptionQuery(create(GreetingsQuerySchema), { bufferSize });
      assertEquals(live.initial, [greeting(-1)]);
      assert(server.state.initialAfterSubscribe, "the initial result was asked for after the subscribe");
      const updates = live.updates[Symbol.asyncIterator]();
      const taken: Greeting[] = [];
      for (let i = 0; i < 5; i++) taken.push((await updates.next()).value as Greeting);
      // The consumer pauses: the server sends what its permits allow, then waits.
      await eventually(
        () => server.state.sent === server.state.granted && server.state.flowControls.length === 2,
        10_000,
        "the server to use its permits",
      );
      assertEquals(
        server.state.flowControls,
        [bufferSize, bufferSize / 8],
        "the initial grant, then one batch",
      );
      assertEquals(server.state.sent, bufferSize + bufferSize / 8);
      assert(server.state.sent - taken.length <= bufferSize, "outstanding updates within the buffer");

      while (taken.length < total) {
        const next = await updates.next();
        assert(!next.done, `ended after ${taken.length} updates`);
        taken.push(next.value as Greeting);
      }
      assertEquals(taken, Array.from({ length: total }, (_, n) => greeting(n)), "every update, in order");
      assertEquals(server.state.subscribes, 1);
      assert(server.state.granted <= total + bufferSize, `granted ${server.state.granted}`);
      live.close();
    } finally {
      await bus.close();
      await connection.close();
      server.close();
    }
  },
});

Deno.test({
  name: "connector → soma → connector: a slow subscriber gets every update in order, without overflow",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startServer();
    const [handler, caller] = await Promise.all([connector(server, "emitter"), connector(server, "slow")]);
    try {
      await handler.queryBus.subscribe(GreetingsQuerySchema, () => Promise.resolve(greeting(-1)));
      const live = await caller.queryBus.subscriptionQuery(create(GreetingsQuerySchema), { bufferSize: 32 });
      const total = 2_000;
      await eventually(async () => (await server.soma!.status()).subscriptionQueries === 1, 10_000);
      for (let n = 0; n < total; n++) {
        handler.queryBus.emitUpdate({ query: GreetingsQuerySchema }, greeting(n));
      }
      const taken: Greeting[] = [];
      for await (const update of live.updates) {
        taken.push(update as Greeting);
        if (taken.length === total) break;
        // A slow consumer: the next update only after the timers ran.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      assertEquals(taken, Array.from({ length: total }, (_, n) => greeting(n)));
    } finally {
      await Promise.all([handler.close(), caller.close()]);
      await server.close();
    }
  },
});

Deno.test({
  name:
    "connector → soma → connector: an update emitted while the initial result is made reaches the subscriber",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startServer();
    const [handler, caller] = await Promise.all([connector(server, "emitter"), connector(server, "caller")]);
    try {
      // The handler changes its model while it answers (as a projection does between two events): the update it
      // emits then must reach the subscription whose initial result it is making.
      await handler.queryBus.subscribe(GreetingsQuerySchema, () => {
        handler.queryBus.emitUpdate({ query: GreetingsQuerySchema }, greeting(0));
        return Promise.resolve(greeting(-1));
      });
      const live = await caller.queryBus.subscriptionQuery(create(GreetingsQuerySchema), { bufferSize: 32 });
      assertEquals(live.initial, [greeting(-1)]);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const first = await Promise.race([
        live.updates[Symbol.asyncIterator]().next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error("the update emitted during the initial result was lost")),
            10_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      assertEquals(first.value, greeting(0));
      live.close();
    } finally {
      await Promise.all([handler.close(), caller.close()]);
      await server.close();
    }
  },
});
