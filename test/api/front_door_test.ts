/**
 * The front door (`Deno.serve`, unary calls on the fast path) answers like connect-node on the gRPC port: the same
 * status, content type, error code and message, error-code and correlation headers, grpc-web trailer, for
 * successes, domain errors, auth refusals and bad input, in Connect JSON, Connect binary and grpc-web; one request
 * log line per call; gRPC on the front door is told where to go (issue 20, item 1).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import http2 from "node:http2";
import { GreetRequestSchema, GreetResponseSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestApp, type TestApp } from "./fixture.ts";
import { connectJson, frame, GREETER, grpcWebBody, grpcWebCall, h2Post } from "./wire.ts";

/** What two answers must share (ids and times differ between calls). */
interface Shape {
  status: number;
  contentType: string | null;
  errorCode: string | null;
  correlation: string | null;
  body: unknown;
}

/** The echoed correlation id: the caller's, or "generated" (a fresh UUID differs per call). */
function correlation(echoed: string | null, headers: Record<string, string>): string | null {
  return echoed === null || echoed === headers["x-correlation-id"] ? echoed : "generated";
}

async function connectShape(
  url: string,
  path: string,
  body: string | Uint8Array<ArrayBuffer>,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<Shape> {
  const { response, json, text } = await connectJson(url, path, body, contentType, headers);
  const parsed = json as Record<string, unknown> | undefined;
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    errorCode: response.headers.get("x-error-code"),
    correlation: correlation(response.headers.get("x-correlation-id"), headers),
    // A success carries a fresh greeting id: compare that there is one; errors compare code and message.
    body: parsed && "greetingId" in parsed
      ? { greetingId: typeof parsed.greetingId }
      : contentType === "application/proto" && response.status === 200
      ? { greetingId: typeof fromBinary(GreetResponseSchema, new TextEncoder().encode(text)).greetingId }
      : parsed,
  };
}

async function grpcWebShape(
  url: string,
  body: Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
) {
  const call = await grpcWebCall(url, `${GREETER}/Greet`, body, "application/grpc-web+proto", headers);
  return {
    status: call.response.status,
    contentType: call.response.headers.get("content-type"),
    correlation: correlation(call.response.headers.get("x-correlation-id"), headers),
    dataFrames: call.dataFrames.length,
    grpcStatus: call.grpcStatus,
    grpcMessage: call.trailer?.get("grpc-message"),
    errorCode: call.trailer?.get("x-error-code"),
  };
}

function ports(t: TestApp): [string, string] {
  return [t.url, `http://127.0.0.1:${t.grpcPort}`];
}

Deno.test("front door and gRPC port answer the same: Connect JSON and binary, grpc-web; ok, errors, bad input", async () => {
  const t = await startTestApp();
  try {
    const [front, node] = ports(t);
    const greet = `${GREETER}/Greet`;
    const proto = toBinary(GreetRequestSchema, create(GreetRequestSchema, { message: "binary" }));
    const connectCases: [string, string | Uint8Array<ArrayBuffer>, string, Record<string, string>?][] = [
      ["ok JSON", JSON.stringify({ message: "hello" }), "application/json", {
        "x-correlation-id": "front-1",
      }],
      ["ok JSON, charset", JSON.stringify({ message: "hi" }), "application/json; charset=utf-8"],
      ["ok binary", new Uint8Array(proto), "application/proto"],
      ["domain error (empty greeting)", JSON.stringify({ message: "" }), "application/json"],
      ["unknown field", JSON.stringify({ message: "x", nope: 1 }), "application/json"],
      ["not JSON", "{", "application/json"],
      ["not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), "application/json"],
      ["bad protobuf", new Uint8Array([0x0a, 0x05, 0x61]), "application/proto"],
    ];
    for (const [name, body, type, headers] of connectCases) {
      const fromFront = await connectShape(front, greet, body, type, headers);
      const fromNode = await connectShape(node, greet, body, type, headers);
      assertEquals(fromFront, fromNode, name);
    }
    const ok = await connectShape(front, greet, JSON.stringify({ message: "a" }), "application/json");
    assertEquals([ok.status, ok.body], [200, { greetingId: "string" }]);
    const empty = await connectShape(front, greet, JSON.stringify({ message: "" }), "application/json");
    assertEquals([empty.status, empty.errorCode], [400, "EX002"]);
    const unauthenticated = await connectShape(front, `${GREETER}/Stop`, "{}", "application/json");
    assertEquals(unauthenticated, await connectShape(node, `${GREETER}/Stop`, "{}", "application/json"));
    assertEquals(unauthenticated.status, 401);

    const webCases: [string, Uint8Array<ArrayBuffer>, Record<string, string>?][] = [
      ["ok", grpcWebBody(GreetRequestSchema, { message: "web" }), { "x-correlation-id": "front-2" }],
      ["domain error", grpcWebBody(GreetRequestSchema, { message: "" })],
      ["bad protobuf", frame(new Uint8Array([0x0a, 0x05, 0x61]))],
      ["envelope longer than the body", frame(new Uint8Array([0x0a, 0x01, 0x61]), 0, 9)],
    ];
    for (const [name, body, headers] of webCases) {
      assertEquals(await grpcWebShape(front, body, headers), await grpcWebShape(node, body, headers), name);
    }
    const web = await grpcWebShape(front, grpcWebBody(GreetRequestSchema, { message: "web" }));
    assertEquals([web.grpcStatus, web.dataFrames], ["0", 1]);
    assertEquals((await grpcWebShape(front, frame(new Uint8Array([0x0a, 0x05, 0x61])))).grpcStatus, "3");
    assertEquals(t.problems, []);
  } finally {
    await t.close();
  }
});

Deno.test("every front-door call writes one request log line; gRPC there is told to use GRPC_PORT", async () => {
  const t = await startTestApp();
  try {
    const before = t.logs.length;
    const answer = await connectJson(t.url, `${GREETER}/Greet`, { message: "logged" });
    assertEquals(answer.response.status, 200, answer.text);
    const lines = t.logs.slice(before).map((line) => JSON.parse(line)).filter((l) => l.msg === "request");
    assertEquals(lines.length, 1, JSON.stringify(lines));
    assertEquals([lines[0].method, lines[0].path, lines[0].status], ["POST", `${GREETER}/Greet`, 200]);

    const grpc = await h2Post(t.url, `${GREETER}/Greet`, {
      "content-type": "application/grpc",
      te: "trailers",
    }, frame(toBinary(GreetRequestSchema, create(GreetRequestSchema, { message: "grpc" }))));
    assertEquals(grpc.headers["grpc-status"], "12");
    assert(decodeURIComponent(String(grpc.headers["grpc-message"])).includes("GRPC_PORT"));
    assertEquals(http2.constants.HTTP_STATUS_OK, grpc.status);
  } finally {
    await t.close();
  }
});
