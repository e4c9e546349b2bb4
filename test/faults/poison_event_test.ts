/**
 * A poison event in a live aggregate: an event appended raw through soma whose payload does not decode. Every
 * command on that aggregate is refused with FAILED_PRECONDITION and `x-error-code: DENDRITE-EVENT-UNREADABLE`,
 * naming the aggregate, the event's type and sequence (not a 500); the program keeps serving; the operator's way
 * out — a snapshot at the poison event's sequence, stored through soma's AppendSnapshot — makes the aggregate
 * load again (docs/api.md, "Unreadable events").
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { EventSchema } from "../../src/gen/axon/event_pb.ts";
import { GreetedEventSchema, GreeterStateSchema } from "../../src/gen/example/v1/domain_pb.ts";
import { exampleRegistry } from "../../src/example/wiring.ts";
import { ProgramProcess } from "../roles/processes.ts";
import { events, RawClient } from "../soma/raw_client.ts";
import { ApiEndpoint, SOMA_TOKEN } from "./greeting_load.ts";

Deno.test({
  name:
    "faults: a poison event in a live aggregate is a clear FAILED_PRECONDITION; a snapshot after it heals",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "faults-poison-" });
    const endpoint = new ApiEndpoint();
    const program = new ProgramProcess("program", [], {
      DATA_DIR: dataDir,
      DENDRITE_ROOT_KEY_MODULE: join(dataDir, "root_key.generated.ts"),
      DENDRITE_ADMIN_PASSWORD: "faults-test-password",
      LOG_LEVEL: "info",
      NO_COLOR: "1",
      PORT: "0",
      GRPC_PORT: "0",
      AXON_PORT: "0",
      AXON_HTTP_PORT: "0",
      AXON_HOST: "127.0.0.1",
      AXON_TOKEN: SOMA_TOKEN,
    });
    let soma: RawClient | undefined;
    try {
      endpoint.set(
        `http://127.0.0.1:${(await program.waitFor((r) => r.msg === "listening", "listening")).port}`,
      );
      const somaPort = (await program.waitFor((r) => r.msg === "soma listening", "soma listening"))
        .port as number;
      soma = new RawClient(somaPort, { token: SOMA_TOKEN });
      const greet = (message: string) => endpoint.client.greet({ message }, { timeoutMs: 5_000 });
      await greet("before the poison");

      const highest = await soma.unary(events.readHighestSequenceNr, {
        $typeName: "io.axoniq.axonserver.grpc.event.ReadHighestSequenceNrRequest",
        aggregateId: "main",
        fromSequenceNr: 0n,
      });
      const poison = highest.toSequenceNr + 1n;
      await soma.clientStream(events.appendEvent, [
        create(EventSchema, {
          messageIdentifier: crypto.randomUUID(),
          aggregateIdentifier: "main",
          aggregateSequenceNumber: poison,
          aggregateType: "example.v1.Greeter",
          timestamp: BigInt(Date.now()),
          // a length-delimited field whose length runs past the end: no protobuf decoder reads it
          payload: {
            type: GreetedEventSchema.typeName,
            revision: "",
            data: new Uint8Array([0x0a, 0x7f, 0x01]),
          },
        }),
      ]);

      for (const attempt of ["first", "second"]) {
        const refusal = await greet(`${attempt} after the poison`).then(() => undefined, (e) => e);
        assert(refusal instanceof ConnectError, `expected a ConnectError, got ${refusal}`);
        assertEquals(refusal.code, Code.FailedPrecondition, refusal.message);
        assertEquals(refusal.metadata.get("x-error-code"), "DENDRITE-EVENT-UNREADABLE");
        for (const part of ['Aggregate "main"', `sequence ${poison}`, `"${GreetedEventSchema.typeName}"`]) {
          assert(refusal.rawMessage.includes(part), `"${part}" is not in: ${refusal.rawMessage}`);
        }
      }

      // the way out: the aggregate's state as a snapshot at the poison event's sequence
      const state = exampleRegistry().encode(
        create(GreeterStateSchema, { recording: true, greetingCount: 1n }),
      );
      await soma.unary(
        events.appendSnapshot,
        create(EventSchema, {
          messageIdentifier: crypto.randomUUID(),
          aggregateIdentifier: "main",
          aggregateSequenceNumber: poison,
          aggregateType: "example.v1.Greeter",
          timestamp: BigInt(Date.now()),
          payload: state,
        }),
      );
      assert((await greet("after the snapshot")).greetingId !== "");
      assertEquals(
        (await soma.unary(events.readHighestSequenceNr, {
          $typeName: "io.axoniq.axonserver.grpc.event.ReadHighestSequenceNrRequest",
          aggregateId: "main",
          fromSequenceNr: 0n,
        })).toSequenceNr,
        poison + 1n,
      );
    } finally {
      soma?.close();
      endpoint.close();
      await program.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
