/**
 * The greeter API over real loopback in its three protocols: Connect JSON, grpc-web (hand-built frames) and
 * native gRPC (grpc-js), including the live Greetings stream and the domain error mapping.
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  GreeterService,
  GreetingSchema,
  GreetRequestSchema,
  SearchRequestSchema,
} from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startTestApp } from "./fixture.ts";
import { collect, grpc, grpcClient, isServiceError, serverStream, unary } from "./grpc_client.ts";
import {
  connectJson,
  GREETER,
  grpcWebBody,
  grpcWebCall,
  parseTrailer,
  TRAILER_FLAG,
  waitProjected,
} from "./wire.ts";

Deno.test("Connect JSON: Greet answers 200 with the greeting id", async () => {
  const t = await startTestApp();
  try {
    const { response, json } = await connectJson(t.url, `${GREETER}/Greet`, { message: "hi" });
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "application/json");
    const id = (json as { greetingId?: unknown }).greetingId;
    assert(typeof id === "string" && /^[0-9a-f-]{36}$/.test(id), `greetingId: ${JSON.stringify(json)}`);
    assert(response.headers.get("x-correlation-id"), "a correlation id is echoed");
  } finally {
    await t.close();
  }
});

Deno.test("grpc-web binary: Search streams the greeting and ends with a grpc-status 0 trailer", async () => {
  const t = await startTestApp();
  try {
    await connectJson(t.url, `${GREETER}/Greet`, { message: "hello web" });
    await waitProjected(t, "hello web");
    const call = await grpcWebCall(
      t.url,
      `${GREETER}/Search`,
      grpcWebBody(SearchRequestSchema, { query: "web" }),
    );
    assertEquals(call.response.status, 200);
    assert(call.response.headers.get("content-type")?.startsWith("application/grpc-web"));
    assertEquals(call.dataFrames.length, 1);
    assertEquals(fromBinary(GreetingSchema, call.dataFrames[0].data).message, "hello web");
    const last = call.frames.at(-1)!;
    assertEquals(last.flags & TRAILER_FLAG, TRAILER_FLAG, "the last frame is the trailer");
    assertEquals(parseTrailer(last.data).get("grpc-status"), "0");
  } finally {
    await t.close();
  }
});

Deno.test("native gRPC (grpc-js): Greet, Search, GetStatus", async () => {
  const t = await startTestApp();
  const client = grpcClient(GreeterService, t.address);
  try {
    const greeted = await unary(client, GreeterService.method.greet, { message: "hello grpc" });
    assert(greeted.greetingId.length > 0);
    await waitProjected(t, "hello grpc");
    const found = await collect(serverStream(client, GreeterService.method.search, { query: "grpc" }));
    assertEquals(found.map((g) => [g.id, g.message]), [[greeted.greetingId, "hello grpc"]]);
    const status = await unary(client, GreeterService.method.getStatus, {});
    assertEquals(status.recording, true);
    assertEquals(status.greetingCount, 1n);
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("Greetings streams the existing greetings, then live ones, until the client cancels", async () => {
  const t = await startTestApp();
  const client = grpcClient(GreeterService, t.address);
  try {
    await unary(client, GreeterService.method.greet, { message: "existing" });
    await waitProjected(t, "existing");

    const stream = serverStream(client, GreeterService.method.greetings, {});
    const received: string[] = [];
    const waiters: (() => void)[] = [];
    stream.on("data", (greeting: { message: string }) => {
      received.push(greeting.message);
      waiters.splice(0).forEach((wake) => wake());
    });
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      stream.on("error", (error: grpc.ServiceError) => resolve(error));
      stream.on("end", () => resolve(undefined));
    });
    const until = async (count: number) => {
      while (received.length < count) await new Promise<void>((wake) => waiters.push(wake));
    };

    await until(1);
    assertEquals(received, ["existing"]);
    await unary(client, GreeterService.method.greet, { message: "live" });
    await until(2);
    assertEquals(received, ["existing", "live"]);

    stream.cancel();
    const error = await ended;
    assertEquals(error?.code, grpc.status.CANCELLED);
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("Stop makes Greet fail with FAILED_PRECONDITION and EX001; Record makes it work again", async () => {
  const t = await startTestApp();
  const client = grpcClient(GreeterService, t.address);
  try {
    // Record and Stop need role admin (see auth_test.ts); Greet stays public.
    const admin = { authorization: `Bearer ${await t.adminToken()}` };
    assertEquals((await unary(client, GreeterService.method.stop, {}, admin)).recording, false);
    const error = await assertRejects(() =>
      unary(client, GreeterService.method.greet, { message: "refused" })
    );
    assert(isServiceError(error), String(error));
    assertEquals(error.code, grpc.status.FAILED_PRECONDITION);
    assert(error.details.includes("EX001"), error.details);
    assertEquals(error.metadata.get("x-error-code"), ["EX001"]);

    // The same refusal over Connect JSON and grpc-web.
    const json = await connectJson(t.url, `${GREETER}/Greet`, { message: "refused" });
    assertEquals(json.response.status, 400);
    assertEquals((json.json as { code: string }).code, "failed_precondition");
    assert(json.text.includes("EX001"), json.text);
    assertEquals(json.response.headers.get("x-error-code"), "EX001");
    const web = await grpcWebCall(
      t.url,
      `${GREETER}/Greet`,
      grpcWebBody(GreetRequestSchema, { message: "refused" }),
    );
    assertEquals(web.grpcStatus, String(grpc.status.FAILED_PRECONDITION));

    assertEquals((await unary(client, GreeterService.method.record, {}, admin)).recording, true);
    const greeted = await unary(client, GreeterService.method.greet, { message: "accepted" });
    assert(greeted.greetingId.length > 0);
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("an empty greeting is INVALID_ARGUMENT with EX002", async () => {
  const t = await startTestApp();
  try {
    const { response, json } = await connectJson(t.url, `${GREETER}/Greet`, { message: "   " });
    assertEquals(response.status, 400);
    assertEquals((json as { code: string }).code, "invalid_argument");
    assertEquals(response.headers.get("x-error-code"), "EX002");
  } finally {
    await t.close();
  }
});
