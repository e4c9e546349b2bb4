import { create } from "@bufbuild/protobuf";
import { ErrorMessageSchema, ProcessingKey } from "../../../gen/axon/common_pb.ts";
import { assert, assertEquals } from "../../../../test/assert.ts";
import { ConcurrencyError, DomainError, NoHandlerError, RemoteError } from "../../core/errors.ts";
import { fromAxonEvent, fromMetaData, toAxonEvent, toMetaData } from "./messages.ts";
import { fromErrorMessage, toErrorMessage } from "./errors.ts";
import { numberInstruction, numericInstruction, routingKeyOf, textInstruction } from "./instructions.ts";

Deno.test("metadata survives the trip through Axon MetaDataValues with its types", () => {
  const metadata = { text: "a", count: 42, ratio: 0.25, flag: false, negative: -7 };
  const wire = toMetaData(metadata);
  assertEquals(wire.count.data.case, "numberValue");
  assertEquals(wire.ratio.data.case, "doubleValue");
  assertEquals(fromMetaData(wire), metadata);
});

Deno.test("domain events carry aggregate type, id and sequence; other events do not", () => {
  const domainEvent = {
    id: "e1",
    timestamp: 1_700_000_000_000,
    payload: { type: "x.v1.Done", revision: "2", data: new Uint8Array([1, 2, 3]) },
    metadata: { correlation_id: "c" },
    aggregate: { type: "x.v1.Thing", id: "t-1", sequence: 4 },
  };
  const wire = toAxonEvent(domainEvent);
  assertEquals([wire.aggregateType, wire.aggregateIdentifier, wire.aggregateSequenceNumber], [
    "x.v1.Thing",
    "t-1",
    4n,
  ]);
  assertEquals(fromAxonEvent(wire), domainEvent);
  const plain = { ...domainEvent, aggregate: undefined };
  const back = fromAxonEvent(toAxonEvent(plain));
  assertEquals(back.aggregate, undefined);
  assertEquals(toAxonEvent(plain).aggregateType, "");
});

Deno.test("a domain refusal crosses the wire as a non-transient error and comes back as the same DomainError", () => {
  const refusal = new DomainError("EX001", "Greeter is not recording", { kind: "failed-precondition" });
  const { code, message } = toErrorMessage(refusal, "client-1", "command");
  assertEquals(code, "AXONIQ-4005");
  assertEquals(message.errorCode, "EX001");
  const back = fromErrorMessage(code, message, "example.v1.GreetCommand");
  assert(back instanceof DomainError);
  assertEquals([back.code, back.kind, back.message], [
    "EX001",
    "failed-precondition",
    "Greeter is not recording",
  ]);
});

Deno.test("Axon codes map to typed errors", () => {
  const msg = create(ErrorMessageSchema, { message: "m", details: ["d"], location: "here" });
  assert(fromErrorMessage("AXONIQ-4000", msg, "c") instanceof NoHandlerError);
  assert(fromErrorMessage("AXONIQ-2000", msg, "c") instanceof ConcurrencyError);
  const other = fromErrorMessage("AXONIQ-4001", msg, "c");
  assert(other instanceof RemoteError);
  assertEquals([other.code, other.details, other.location], ["AXONIQ-4001", ["d"], "here"]);
  const unexpected = toErrorMessage(new TypeError("boom"), "me", "query");
  assertEquals(unexpected.code, "AXONIQ-5001");
});

Deno.test("processing instructions: routing key and timeout are read back", () => {
  const instructions = [
    textInstruction(ProcessingKey.ROUTING_KEY, "agg-1"),
    numberInstruction(ProcessingKey.TIMEOUT, 1500),
  ];
  assertEquals(routingKeyOf(instructions), "agg-1");
  assertEquals(numericInstruction(instructions, ProcessingKey.TIMEOUT), 1500);
  assertEquals(routingKeyOf([]), undefined);
});
