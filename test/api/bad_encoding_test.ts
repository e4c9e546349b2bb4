/**
 * A body that does not decompress is the client's mistake (issue 13, item 5): Connect answers 400
 * `invalid_argument` and grpc-web `INVALID_ARGUMENT`, for brotli as for gzip, and the server keeps serving; and
 * `application/grpc-web-text` is refused with 415 as documented.
 */
import { brotliCompressSync, gzipSync } from "node:zlib";
import { assert, assertEquals } from "../assert.ts";
import { startTrivialServer } from "./trivial_server.ts";
import { connectJson, frame, GREETER, grpcWebCall } from "./wire.ts";

const GARBAGE = new TextEncoder().encode('{"message":"not compressed at all"}');

Deno.test("a body that is not valid br or gzip data → 400 invalid_argument / INVALID_ARGUMENT", async () => {
  const server = await startTrivialServer();
  const url = `http://127.0.0.1:${server.port}`;
  try {
    for (const encoding of ["br", "gzip"]) {
      const bad = await connectJson(url, `${GREETER}/Greet`, GARBAGE, "application/json", {
        "content-encoding": encoding,
      });
      assertEquals(bad.response.status, 400, `${encoding}: ${bad.text}`);
      assertEquals((bad.json as { code: string }).code, "invalid_argument", bad.text);
      assert((bad.json as { message: string }).message.includes(encoding), bad.text);

      const web = await grpcWebCall(
        url,
        `${GREETER}/Greet`,
        frame(GARBAGE, 1),
        "application/grpc-web+proto",
        {
          "grpc-encoding": encoding,
        },
      );
      assertEquals(web.grpcStatus, "3", `${encoding} grpc-web`);
    }
    // grpc-web-text (base64) is not served; docs/api.md says so.
    const text = await connectJson(url, `${GREETER}/Greet`, frame(GARBAGE), "application/grpc-web-text");
    assertEquals(text.response.status, 415);
    assert(text.text.includes("application/grpc-web+proto"), text.text);
    const body = JSON.stringify({ message: "compressed" });
    for (const [encoding, bytes] of [["br", brotliCompressSync(body)], ["gzip", gzipSync(body)]] as const) {
      const good = await connectJson(url, `${GREETER}/Greet`, new Uint8Array(bytes), "application/json", {
        "content-encoding": encoding,
      });
      assertEquals(good.response.status, 200, `${encoding}: ${good.text}`);
      assertEquals(good.json, { greetingId: "compressed" });
    }
  } finally {
    await server.shutdown();
  }
});
