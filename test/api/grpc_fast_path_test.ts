/**
 * The gRPC port's fast path for unary calls (`src/server/grpc_unary.ts`) answers exactly as connect-node does.
 * Every request below is sent twice over raw HTTP/2 (node:http2's client): as is, which the fast path takes, and
 * with a `grpc-timeout`, which leaves it to connect-node; the two answers must agree on the HTTP status, the
 * content type, the gRPC status and message, the application's headers and trailers, and the message. Then the
 * same calls from grpc-js, and the server still serves after the malformed ones.
 */
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GreeterService, GreetRequestSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { silentLogger, startServer } from "../../src/server/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { frame, GREETER } from "./wire.ts";

interface Answer {
  readonly status: number;
  /** Headers and trailers together (a trailers-only answer carries its status in the headers). */
  readonly fields: Record<string, string>;
  readonly body: number[];
}

/** The fields compared: the protocol's and the application's (not dates or lengths). */
const COMPARED = [
  "content-type",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "x-error-code",
  "x-extra",
  "x-done",
];

function call(url: string, headers: Record<string, string>, body: Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": `${GREETER}/Greet`,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const fields: Record<string, string> = {};
    let status = 0;
    const keep = (h: http2.IncomingHttpHeaders) => {
      for (const name of COMPARED) if (h[name] !== undefined) fields[name] = String(h[name]);
    };
    const chunks: number[] = [];
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      keep(h);
    });
    stream.on("trailers", keep);
    stream.on("data", (chunk: Uint8Array) => chunks.push(...chunk));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      resolve({ status, fields, body: chunks });
    });
    stream.end(body);
  });
}

const greet = (message: string) =>
  frame(toBinary(GreetRequestSchema, create(GreetRequestSchema, { message })));

const CASES: [string, Record<string, string>, Uint8Array][] = [
  ["a greeting", {}, greet("ann")],
  ["an empty message", {}, frame(new Uint8Array())],
  ["a refusal with metadata", {}, greet("fail")],
  ["headers and trailers set by the handler", {}, greet("headers")],
  ["the caller's authorization header read by the handler", { authorization: "Bearer xyz" }, greet("auth")],
  ["the request's URL read by the handler", {}, greet("url")],
  ["an unexpected error", {}, greet("crash")],
  ["invalid protobuf", {}, frame(new Uint8Array([0x0a, 0x32, 0x68]))],
  ["a frame that declares more bytes than sent", {}, frame(new Uint8Array([0x0a, 0x01, 0x41]), 0, 10)],
  ["no frame at all", {}, new Uint8Array()],
  ["a frame header cut short", {}, new Uint8Array([0, 0, 0])],
  ["two frames for a unary call", {}, new Uint8Array([...greet("a"), ...greet("b")])],
  ["a compressed frame without grpc-encoding", {}, frame(new Uint8Array([0x0a, 0x01, 0x41]), 1)],
  ["a frame with an unknown flag", {}, frame(new Uint8Array([0x0a, 0x01, 0x41]), 0x80)],
  ["a frame declaring more than 4 MiB", {}, frame(new Uint8Array([0x0a, 0x01, 0x41]), 0, 5_000_000)],
  ["a greeting, then half a frame", {}, new Uint8Array([...greet("a"), 0, 0])],
  ["a greeting, then a frame cut short", {}, new Uint8Array([...greet("a"), 0, 0, 0, 0, 9, 1])],
];

async function withServer(body: (url: string, address: string) => Promise<void>) {
  const server = await startServer({
    port: 0,
    grpcPort: 0,
    hostname: "127.0.0.1",
    logger: silentLogger,
    api: (router) =>
      router.service(GreeterService, {
        greet(request, context) {
          switch (request.message) {
            case "fail":
              throw new ConnectError("not recording", Code.FailedPrecondition, { "x-error-code": "EX001" });
            case "crash":
              throw new Error("a bug");
            case "headers":
              context.responseHeader.set("x-extra", "1");
              context.responseTrailer.set("x-done", "yes");
              return { greetingId: "with headers" };
            case "auth":
              return { greetingId: context.requestHeader.get("authorization") ?? "none" };
            case "url":
              return { greetingId: `${context.requestMethod} ${context.url} ${context.protocolName}` };
            default:
              return { greetingId: `hi ${request.message}` };
          }
        },
      }),
  });
  try {
    await body(`http://127.0.0.1:${server.grpcPort}`, `127.0.0.1:${server.grpcPort}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("gRPC port: the unary fast path answers as connect-node does, request by request", async (t) => {
  await withServer(async (url) => {
    for (const [name, headers, body] of CASES) {
      await t.step(name, async () => {
        const fast = await call(url, headers, body);
        const generic = await call(url, { ...headers, "grpc-timeout": "10S" }, body);
        assertEquals(fast, generic);
        assertEquals(fast.status, 200);
        assert(fast.fields["grpc-status"] !== undefined, JSON.stringify(fast));
      });
    }
  });
});

Deno.test("gRPC port: grpc-js calls take the fast path's answers, and the port keeps serving after bad ones", async () => {
  await withServer(async (url, address) => {
    for (const [, headers, body] of CASES.filter(([name]) => !name.startsWith("a greeting"))) {
      await call(url, headers, body);
    }
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    // Settles once both the callback (the answer) and the status (with the trailers) have come, in either order.
    const unary = (message: string, metadata = new grpc.Metadata()) =>
      new Promise<{ error: grpc.ServiceError | null; value?: Buffer; trailers: grpc.Metadata }>((resolve) => {
        let answer: { error: grpc.ServiceError | null; value?: Buffer } | undefined;
        let trailers: grpc.Metadata | undefined;
        const settle = () => answer && trailers && resolve({ ...answer, trailers });
        const request = toBinary(GreetRequestSchema, create(GreetRequestSchema, { message }));
        const call = client.makeUnaryRequest(
          `${GREETER}/Greet`,
          (value: Uint8Array) => Buffer.from(value),
          (value: Buffer) => value,
          request,
          metadata,
          (error, value) => {
            answer = { error, value };
            settle();
          },
        );
        call.on("status", (status) => {
          trailers = status.metadata;
          settle();
        });
      });
    try {
      const ok = await unary("grpc-js");
      assertEquals(ok.error, null);
      assertEquals([...ok.value!.subarray(2)].map((b) => String.fromCharCode(b)).join(""), "hi grpc-js");
      const refused = await unary("fail");
      assertEquals(refused.error?.code, grpc.status.FAILED_PRECONDITION);
      assertEquals(refused.error?.details, "not recording");
      assertEquals(refused.error?.metadata.get("x-error-code"), ["EX001"]);
      const metadata = new grpc.Metadata();
      metadata.set("authorization", "Bearer from-grpc-js");
      const auth = await unary("auth", metadata);
      assert(auth.value && new TextDecoder().decode(auth.value).includes("Bearer from-grpc-js"));
      const withHeaders = await unary("headers");
      assertEquals(withHeaders.trailers?.get("x-done"), ["yes"]);
    } finally {
      client.close();
    }
  });
});
