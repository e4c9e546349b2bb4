/**
 * The `idempotency-key` header on the API: the same key gives the same greeting (stored once) over Connect and
 * over gRPC metadata; a malformed key is INVALID_ARGUMENT; another caller's key is its own.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { assert, assertEquals } from "../assert.ts";
import { GreeterService } from "../../src/gen/example/v1/greeter_pb.ts";
import { startTestApp } from "../api/fixture.ts";
import { grpc, grpcClient, unary } from "../api/grpc_client.ts";

Deno.test({
  name: "API: an idempotency-key header makes a retried Greet answer the first greeting and store it once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const app = await startTestApp();
    const grpcGreeter = grpcClient(GreeterService, app.address);
    try {
      const client = createClient(GreeterService, app.transport);
      const keyed = (key: string) => ({ headers: { "idempotency-key": key } });
      const first = await client.greet({ message: "once" }, keyed("key-1"));
      const again = await client.greet({ message: "once" }, keyed("key-1"));
      assertEquals(again.greetingId, first.greetingId);
      const overGrpc = await unary(grpcGreeter, GreeterService.method.greet, { message: "once" }, {
        "idempotency-key": "key-1",
      });
      assertEquals(overGrpc.greetingId, first.greetingId);
      const other = await client.greet({ message: "once" }, keyed("key-2"));
      assert(other.greetingId !== first.greetingId);
      const unkeyed = await client.greet({ message: "once" });
      assert(unkeyed.greetingId !== first.greetingId);
      // the key is scoped to the caller: the admin's "key-1" is not the anonymous caller's
      const token = await app.adminToken();
      const admin = await client.greet({ message: "once" }, {
        headers: { "idempotency-key": "key-1", authorization: `Bearer ${token}` },
      });
      assert(admin.greetingId !== first.greetingId);
      assertEquals(await app.app.ports.eventStore.highestSequence("main"), 3);

      const refusal = await client.greet({ message: "bad" }, keyed("x".repeat(129))).then(
        () => undefined,
        (e) => e,
      );
      assert(refusal instanceof ConnectError, `expected a ConnectError, got ${refusal}`);
      assertEquals(refusal.code, Code.InvalidArgument);
      assert(refusal.rawMessage.includes("idempotency-key"), refusal.rawMessage);
      const grpcRefusal = await unary(grpcGreeter, GreeterService.method.greet, { message: "bad" }, {
        "idempotency-key": "has space",
      }).then(() => undefined, (e) => e);
      assertEquals(grpcRefusal?.code, grpc.status.INVALID_ARGUMENT);
    } finally {
      grpcGreeter.close();
      await app.close();
    }
  },
});
