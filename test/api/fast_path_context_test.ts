/**
 * The front door's fast path for a service without interceptors (it calls the implementation itself, with a
 * handler context whose parts are made when first read): headers and trailers the implementation sets reach the
 * caller in all three formats, the context's peer value and signal work, non-ASCII JSON round-trips, and an answer
 * over the size limit fails as connect-es fails it on the gRPC port.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { GreeterService, GreetRequestSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { peerAddressKey } from "../../src/dendrite/security/mod.ts";
import { type RunningServer, silentLogger, startServer } from "../../src/server/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { GREETER, grpcWebBody, grpcWebCall } from "./wire.ts";

const MAX_BYTES = 4096;

/** Greet answers `<peer>|<aborted>|<message>`, sets a header and a trailer; "big" answers past the limit. */
async function withServer(body: (server: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer({
    port: 0,
    grpcPort: 0,
    hostname: "127.0.0.1",
    logger: silentLogger,
    maxMessageBytes: MAX_BYTES,
    api: (router) =>
      router.service(GreeterService, {
        greet(request, context) {
          if (request.message === "big") return { greetingId: "x".repeat(MAX_BYTES) };
          if (request.message === "fail") throw new ConnectError("refused here", Code.FailedPrecondition);
          context.responseHeader.set("x-answered-by", "fast");
          context.responseTrailer.set("x-trailer", "set");
          const peer = context.values.get(peerAddressKey);
          return { greetingId: `${peer}|${context.signal.aborted}|${request.message}` };
        },
      }),
  });
  try {
    await body(server);
  } finally {
    await server.shutdown();
  }
}

function post(url: string, body: string | Uint8Array<ArrayBuffer>, contentType: string) {
  return fetch(`${url}${GREETER}/Greet`, { method: "POST", headers: { "content-type": contentType }, body });
}

Deno.test("fast path without interceptors: headers, trailers, peer and signal reach the caller", async () => {
  await withServer(async (server) => {
    for (const url of [server.url, `http://127.0.0.1:${server.grpcPort}`]) {
      const json = await post(url, JSON.stringify({ message: "héllo 👋" }), "application/json");
      assertEquals(json.status, 200);
      assertEquals(json.headers.get("x-answered-by"), "fast");
      assertEquals(json.headers.get("trailer-x-trailer"), "set");
      assertEquals(await json.json(), { greetingId: "127.0.0.1|false|héllo 👋" });

      const binary = toBinary(GreetRequestSchema, create(GreetRequestSchema, { message: "bin" }));
      const proto = await post(url, binary as Uint8Array<ArrayBuffer>, "application/proto");
      assertEquals(proto.status, 200);
      assertEquals(proto.headers.get("content-type"), "application/proto");
      assertEquals(proto.headers.get("trailer-x-trailer"), "set");
      assert((await proto.text()).endsWith("127.0.0.1|false|bin"), "the binary answer carries the greeting");

      const web = await grpcWebCall(
        url,
        `${GREETER}/Greet`,
        grpcWebBody(GreetRequestSchema, { message: "w" }),
      );
      assertEquals(web.grpcStatus, "0");
      assertEquals(web.response.headers.get("x-answered-by"), "fast");
      assertEquals(web.trailer?.get("x-trailer"), "set");
      assertEquals(web.dataFrames.length, 1);
    }
  });
});

Deno.test("fast path without interceptors: errors and an answer past the size limit match the gRPC port", async () => {
  await withServer(async (server) => {
    const answers = [];
    for (const url of [server.url, `http://127.0.0.1:${server.grpcPort}`]) {
      const big = await post(url, JSON.stringify({ message: "big" }), "application/json");
      const fail = await post(url, JSON.stringify({ message: "fail" }), "application/json");
      const web = await grpcWebCall(
        url,
        `${GREETER}/Greet`,
        grpcWebBody(GreetRequestSchema, { message: "big" }),
      );
      answers.push({
        big: { status: big.status, body: await big.json() },
        fail: { status: fail.status, body: await fail.json() },
        web: { status: web.grpcStatus, message: web.trailer?.get("grpc-message") },
      });
    }
    assertEquals(answers[0], answers[1]);
    assertEquals(answers[0].big.body.code, "resource_exhausted");
    assertEquals(answers[0].fail.body, { code: "failed_precondition", message: "refused here" });
    assertEquals(answers[0].web.status, String(Code.ResourceExhausted));
  });
});
