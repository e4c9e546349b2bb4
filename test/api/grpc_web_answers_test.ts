/**
 * grpc-web answers on the front door's fast path are put together in one buffer shared by every call (the
 * `Response` takes its own copy of a byte body). Many calls at once, with answers of different sizes (some larger
 * than that buffer), must each get their own answer, whole.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { GreetRequestSchema, GreetResponseSchema } from "../../src/gen/example/v1/greeter_pb.ts";
import { assertEquals } from "../assert.ts";
import { startTrivialServer } from "./trivial_server.ts";
import { GREETER, grpcWebBody, grpcWebCall } from "./wire.ts";

/** A message of `length` characters that differs from every other call's (index first, then padding). */
function messageOf(index: number, length: number): string {
  const head = `${index}:`;
  return head + String.fromCharCode(97 + (index % 26)).repeat(Math.max(0, length - head.length));
}

Deno.test("grpc-web answers made at once, small and large, each come back whole and to their own caller", async () => {
  const server = await startTrivialServer();
  try {
    const url = `http://127.0.0.1:${server.port}`;
    // Sizes on both sides of the shared buffer's 16 KiB, and of one byte of varint length.
    const lengths = [1, 5, 127, 128, 300, 4_000, 16_370, 16_384, 17_000, 40_000];
    const messages = Array.from({ length: 200 }, (_, i) => messageOf(i, lengths[i % lengths.length]));
    const calls = await Promise.all(
      messages.map((message) =>
        grpcWebCall(url, `${GREETER}/Greet`, grpcWebBody(GreetRequestSchema, { message }))
      ),
    );
    calls.forEach((call, i) => {
      assertEquals(call.response.status, 200);
      assertEquals(call.grpcStatus, "0", `call ${i}`);
      assertEquals(call.dataFrames.length, 1, `call ${i}`);
      assertEquals(
        fromBinary(GreetResponseSchema, call.dataFrames[0].data).greetingId,
        messages[i],
        `call ${i}`,
      );
    });
  } finally {
    await server.shutdown();
  }
});
