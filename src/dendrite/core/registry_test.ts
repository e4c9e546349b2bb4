import { create, toBinary } from "@bufbuild/protobuf";
import * as domain from "../../gen/example/v1/domain_pb.ts";
import { assertEquals, assertThrows } from "../../../test/assert.ts";
import { MessageRegistry } from "./registry.ts";

Deno.test("MessageRegistry encodes with the full type name and decodes back", () => {
  const registry = new MessageRegistry([domain.GreetedEventSchema]);
  const event = create(domain.GreetedEventSchema, { greeterId: "g", message: "hi" });
  const stored = registry.encode(event);
  assertEquals(stored.type, "example.v1.GreetedEvent");
  assertEquals(stored.revision, "");
  assertEquals(registry.decode(stored), event);
});

Deno.test("MessageRegistry refuses unknown types and undecodable bytes with clear errors", () => {
  const registry = new MessageRegistry([domain.GreetedEventSchema]);
  assertThrows(() => registry.decode({ type: "no.Such", revision: "", data: new Uint8Array() }), '"no.Such"');
  assertThrows(
    () =>
      registry.decode({ type: "example.v1.GreetedEvent", revision: "", data: new Uint8Array([0x0a, 0xff]) }),
    "does not decode",
  );
});

Deno.test("MessageRegistry upcasts old revisions through a chain of upcasters", () => {
  // Revision "1" stored the message under field 2 only; revision "2" renames nothing but adds a prefix.
  const registry = new MessageRegistry().add(domain.GreetedEventSchema, "3");
  const encode = (message: string) =>
    toBinary(domain.GreetedEventSchema, create(domain.GreetedEventSchema, { greeterId: "g", message }));
  registry.addUpcaster({
    type: "example.v1.GreetedEvent",
    fromRevision: "1",
    upcast: () => ({ type: "example.v1.GreetedEvent", revision: "2", data: encode("v2") }),
  });
  registry.addUpcaster({
    type: "example.v1.GreetedEvent",
    fromRevision: "2",
    upcast: () => ({ type: "example.v1.GreetedEvent", revision: "3", data: encode("v3") }),
  });
  const decoded = registry.decode({ type: "example.v1.GreetedEvent", revision: "1", data: encode("v1") });
  assertEquals((decoded as domain.GreetedEvent).message, "v3");
  assertThrows(
    () => registry.decode({ type: "example.v1.GreetedEvent", revision: "0", data: encode("v0") }),
    'No upcaster from revision "0"',
  );
});

Deno.test("MessageRegistry refuses two schemas under one name", () => {
  const registry = new MessageRegistry([domain.GreetedEventSchema]);
  registry.add(domain.GreetedEventSchema);
  assertThrows(() => registry.add({ ...domain.GreetedEventSchema }), "Two different schemas");
});
