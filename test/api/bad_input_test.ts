/**
 * Bad input gets a clear status and the server keeps serving: every case is followed by a good call on the
 * same server.
 */
import {
  GreeterService,
  GreetRequestSchema,
  SearchRequestSchema,
} from "../../src/gen/example/v1/greeter_pb.ts";
import { Buffer } from "node:buffer";
import { MAX_MESSAGE_BYTES } from "../../src/server/mod.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startTestApp, type TestApp } from "./fixture.ts";
import { grpc, grpcClient, isServiceError, unary } from "./grpc_client.ts";
import {
  connectJson,
  frame,
  GREETER,
  grpcWebBody,
  grpcWebCall,
  h2Post,
  parseFrames,
  parseTrailer,
  TRAILER_FLAG,
} from "./wire.ts";

/** gRPC status codes as the grpc-web trailer spells them. */
const Status = {
  INVALID_ARGUMENT: "3",
  RESOURCE_EXHAUSTED: "8",
  UNIMPLEMENTED: "12",
  INTERNAL: "13",
} as const;

async function stillServes(t: TestApp, label: string): Promise<void> {
  const { response, json } = await connectJson(t.url, `${GREETER}/Greet`, { message: `after ${label}` });
  assertEquals(response.status, 200, `a good call after ${label}`);
  assert(typeof (json as { greetingId?: unknown }).greetingId === "string");
}

function assertNoInternals(text: string): void {
  assert(!/\bat .+:\d+:\d+/.test(text), `no stack trace in ${text}`);
  assert(!text.includes("file://"), `no file paths in ${text}`);
}

Deno.test("bad input gets the right status and the server keeps serving", async (test) => {
  const t = await startTestApp();
  try {
    await test.step("malformed grpc-web frame (declares more bytes than sent) → INVALID_ARGUMENT", async () => {
      const body = frame(new Uint8Array([0x0a, 0x02, 0x68]), 0, 100);
      const call = await grpcWebCall(t.url, `${GREETER}/Greet`, body);
      assertEquals(call.response.status, 200);
      assertEquals(call.grpcStatus, Status.INVALID_ARGUMENT);
      await stillServes(t, "a truncated frame");
    });

    await test.step("grpc-web body shorter than a frame header → INVALID_ARGUMENT", async () => {
      const call = await grpcWebCall(t.url, `${GREETER}/Greet`, new Uint8Array([0, 0, 0]));
      assertEquals(call.grpcStatus, Status.INVALID_ARGUMENT);
      await stillServes(t, "a short frame header");
    });

    await test.step("invalid protobuf bytes → INVALID_ARGUMENT naming the request type", async () => {
      // Field 1 (string) claims 50 bytes but only 2 follow; a field with a reserved wire type; a string field
      // holding 0xC3 0x28 (not UTF-8).
      for (const bytes of [[0x0a, 0x32, 0x68, 0x69], [0x0f, 0x01], [0x0a, 0x02, 0xc3, 0x28]]) {
        const call = await grpcWebCall(t.url, `${GREETER}/Greet`, frame(new Uint8Array(bytes)));
        assertEquals(call.grpcStatus, Status.INVALID_ARGUMENT, `bytes ${bytes}`);
        const message = decodeURIComponent(call.trailer?.get("grpc-message") ?? "");
        assert(message.startsWith("the request is not a valid example.v1.GreetRequest: "), message);
        assertNoInternals(message);

        const proto = await connectJson(
          t.url,
          `${GREETER}/Greet`,
          new Uint8Array(bytes),
          "application/proto",
        );
        assertEquals(proto.response.status, 400, `bytes ${bytes}`);
        const error = proto.json as { code: string; message: string };
        assertEquals(error.code, "invalid_argument");
        assert(
          error.message.startsWith("the request is not a valid example.v1.GreetRequest: "),
          error.message,
        );
      }
      const json = await connectJson(t.url, `${GREETER}/Greet`, "{not json");
      assertEquals(json.response.status, 400);
      assertEquals((json.json as { code: string }).code, "invalid_argument");
      assertNoInternals(json.text);
      await stillServes(t, "invalid protobuf");
    });

    await test.step("a streaming call with invalid protobuf → INVALID_ARGUMENT (grpc-web and Connect)", async () => {
      const path = `${GREETER}/Search`;
      const web = await grpcWebCall(t.url, path, frame(new Uint8Array([0x0f, 0x01])));
      assertEquals(web.grpcStatus, Status.INVALID_ARGUMENT);
      const connect = await fetch(`${t.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/connect+proto" },
        body: frame(new Uint8Array([0x0f, 0x01])),
      });
      const end = parseFrames(new Uint8Array(await connect.arrayBuffer())).find((f) => f.flags & 0b10);
      assert(end, "an end-of-stream message");
      const { error } = JSON.parse(new TextDecoder().decode(end.data)) as { error?: { code: string } };
      assertEquals(error?.code, "invalid_argument");
      await stillServes(t, "a bad streaming request");
    });

    await test.step("JSON that is not UTF-8 → 400 invalid_argument", async () => {
      const prefix = new TextEncoder().encode('{"message":"a');
      const suffix = new TextEncoder().encode('b"}');
      const body = new Uint8Array([...prefix, 0xc3, 0x28, ...suffix]);
      const answer = await connectJson(t.url, `${GREETER}/Greet`, body);
      assertEquals(answer.response.status, 400, answer.text);
      const error = answer.json as { code: string; message: string };
      assertEquals(error.code, "invalid_argument");
      assert(error.message.includes("not valid UTF-8"), error.message);
      await stillServes(t, "JSON that is not UTF-8");
    });

    await test.step("JSON naming an unknown field → 400 invalid_argument naming the field", async () => {
      const answer = await connectJson(t.url, `${GREETER}/Greet`, { message: "hi", shout: true });
      assertEquals(answer.response.status, 400, answer.text);
      const error = answer.json as { code: string; message: string };
      assertEquals(error.code, "invalid_argument");
      assert(error.message.includes("shout"), error.message);
      await stillServes(t, "an unknown JSON field");
    });

    await test.step("a missing content type → 415 naming the accepted types", async () => {
      const response = await fetch(`${t.url}${GREETER}/Greet`, {
        method: "POST",
        body: new TextEncoder().encode('{"message":"hi"}'),
      });
      const text = await response.text();
      assertEquals(response.status, 415, text);
      assert(text.includes("application/json") && text.includes("application/grpc-web+proto"), text);
      await stillServes(t, "a missing content type");
    });

    await test.step("wrong content type → 415 Unsupported Media Type", async () => {
      const plain = await connectJson(t.url, `${GREETER}/Greet`, '{"message":"hi"}', "text/plain");
      assertEquals(plain.response.status, 415);
      const xml = await connectJson(t.url, `${GREETER}/Greet`, "<greet/>", "application/xml");
      assertEquals(xml.response.status, 415);
      await stillServes(t, "a wrong content type");
    });

    await test.step("a message over 4 MiB → RESOURCE_EXHAUSTED", async () => {
      // Over HTTP/2: on HTTP/1.1 the answer is sent too, but the connection is then reset while the client is
      // still sending the rest of the body, so fetch cannot read it.
      const huge = "x".repeat(MAX_MESSAGE_BYTES + 1);
      const web = await h2Post(t.url, `${GREETER}/Greet`, {
        "content-type": "application/grpc-web+proto",
      }, grpcWebBody(GreetRequestSchema, { message: huge }));
      assertEquals(web.status, 200);
      const trailer = parseFrames(web.body).find((f) => f.flags & TRAILER_FLAG);
      assert(trailer, "a trailer frame");
      assertEquals(parseTrailer(trailer.data).get("grpc-status"), Status.RESOURCE_EXHAUSTED);

      const json = await h2Post(
        t.url,
        `${GREETER}/Greet`,
        { "content-type": "application/json" },
        new TextEncoder().encode(JSON.stringify({ message: huge })),
      );
      assertEquals(json.status, 429);
      assertEquals(JSON.parse(new TextDecoder().decode(json.body)).code, "resource_exhausted");

      const client = grpcClient(GreeterService, t.address);
      try {
        const error = await assertRejects(() =>
          unary(client, GreeterService.method.greet, { message: huge })
        );
        assert(isServiceError(error), String(error));
        assertEquals(error.code, grpc.status.RESOURCE_EXHAUSTED);
      } finally {
        client.close();
      }

      // HTTP/1.1: whatever the client sees, the server keeps serving.
      await fetch(`${t.url}${GREETER}/Greet`, {
        method: "POST",
        headers: { "content-type": "application/grpc-web+proto" },
        body: grpcWebBody(GreetRequestSchema, { message: huge }),
      }).then((r) => r.arrayBuffer()).catch(() => undefined);
      await stillServes(t, "an oversized message");
    });

    await test.step("a message just under 4 MiB reaches the domain (which refuses it as too long)", async () => {
      const big = "x".repeat(MAX_MESSAGE_BYTES - 64);
      const web = await grpcWebCall(
        t.url,
        `${GREETER}/Greet`,
        grpcWebBody(GreetRequestSchema, { message: big }),
      );
      assertEquals(web.grpcStatus, Status.INVALID_ARGUMENT);
      await stillServes(t, "a big message");
    });

    await test.step("unknown method or service → UNIMPLEMENTED in every protocol", async () => {
      const body = grpcWebBody(SearchRequestSchema, {});
      for (const path of [`${GREETER}/Shout`, "/example.v1.NoSuchService/Greet"]) {
        const web = await grpcWebCall(t.url, path, body);
        assertEquals(web.grpcStatus, Status.UNIMPLEMENTED, path);
        const json = await connectJson(t.url, path, {});
        assertEquals(json.response.status, 404, path);
        assertEquals((json.json as { code: string }).code, "unimplemented");
      }
      const client = new grpc.Client(t.address, grpc.credentials.createInsecure());
      try {
        const error = await new Promise<unknown>((resolve) => {
          client.makeUnaryRequest(
            "/example.v1.GreeterService/Shout",
            (value: Uint8Array) => Buffer.from(value),
            (value: Buffer) => value,
            new Uint8Array(),
            (e) => resolve(e),
          );
        });
        assert(isServiceError(error), String(error));
        assertEquals(error.code, grpc.status.UNIMPLEMENTED);
      } finally {
        client.close();
      }
      await stillServes(t, "unknown procedures");
    });

    await test.step("native gRPC with invalid protobuf → INVALID_ARGUMENT, then a good call", async () => {
      const client = new grpc.Client(t.address, grpc.credentials.createInsecure());
      const typed = grpcClient(GreeterService, t.address);
      try {
        const error = await new Promise<unknown>((resolve) => {
          client.makeUnaryRequest(
            "/example.v1.GreeterService/Greet",
            (value: Uint8Array) => Buffer.from(value),
            (value: Buffer) => value,
            new Uint8Array([0x0a, 0x32, 0x68]),
            (e) => resolve(e),
          );
        });
        assert(isServiceError(error), String(error));
        assertEquals(error.code, grpc.status.INVALID_ARGUMENT);
        assert(
          error.details.startsWith("the request is not a valid example.v1.GreetRequest: "),
          error.details,
        );
        const ok = await unary(typed, GreeterService.method.greet, { message: "after bad grpc" });
        assert(ok.greetingId.length > 0);
      } finally {
        client.close();
        typed.close();
      }
    });

    await test.step("unknown paths are 404; GET on an RPC path is not served", async () => {
      assertEquals((await (await fetch(`${t.url}/nope`)).text()).trim(), "Not found");
      const get = await fetch(`${t.url}${GREETER}/Greet`);
      await get.body?.cancel();
      assert(get.status >= 400 && get.status < 500, `GET status ${get.status}`);
      await stillServes(t, "unknown paths");
    });

    assertEquals(t.problems.filter((line) => line.includes('"level":"error"')), []);
  } finally {
    await t.close();
  }
});
