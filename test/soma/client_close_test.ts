/**
 * soma keeps serving when clients close their connection right after many concurrent calls. Deno 2.9.4–2.9.6
 * abort a `node:http2` peer in that case (an nghttp2 assertion while handling the GOAWAY, denoland/deno#36788:
 * here the client side of this test, in other runs the server), which is why the project pins Deno 2.9.3. This
 * test is the canary for a Deno upgrade: on those versions it fails every time (its process aborts). soma runs
 * as a child process, so an abort there shows as its exit.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import http2 from "node:http2";
import { assertEquals } from "../assert.ts";
import { GetLastTokenRequestSchema } from "../../src/gen/axon/event_pb.ts";
import { spawnSoma } from "./raw_client.ts";

Deno.test("soma survives clients that close right after concurrent calls", async () => {
  const dir = await Deno.makeTempDir({ prefix: "soma-close-" });
  const { process: child, port, token } = await spawnSoma(dir);
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => (exited = s));
  try {
    // A GetLastToken request as gRPC frames: no compression flag, length, the (empty) message.
    const frame = toBinary(GetLastTokenRequestSchema, create(GetLastTokenRequestSchema, {}));
    const body = new Uint8Array(5 + frame.length);
    new DataView(body.buffer).setUint32(1, frame.length);
    body.set(frame, 5);
    const call = (session: http2.ClientHttp2Session) =>
      new Promise<string | undefined>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/io.axoniq.axonserver.grpc.event.EventStore/GetLastToken",
          "content-type": "application/grpc",
          te: "trailers",
          "axoniq-context": "default",
          "axoniq-access-token": token,
        });
        let grpcStatus: string | undefined;
        stream.on("trailers", (trailers) => (grpcStatus = String(trailers["grpc-status"])));
        stream.on("data", () => {});
        stream.on("end", () => resolve(grpcStatus));
        stream.on("error", reject);
        stream.end(body);
      });
    // Each round: a fresh connection, 100 calls 8 at a time, then a graceful close (GOAWAY); the next round's
    // calls fail if that close took soma down.
    for (let round = 0; round < 5; round++) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        for (let done = 0; done < 100; done += 8) {
          const statuses = await Promise.all(Array.from({ length: 8 }, () => call(session)));
          assertEquals(statuses, Array(8).fill("0"), `round ${round}`);
        }
      } finally {
        await new Promise<void>((resolve) => session.close(() => resolve()));
      }
    }
    assertEquals(exited, undefined, "soma exited");
  } finally {
    if (!exited) child.kill("SIGTERM");
    await status;
    await Deno.remove(dir, { recursive: true });
  }
});
