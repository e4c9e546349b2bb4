import { create, toBinary } from "@bufbuild/protobuf";
import * as account from "../../gen/test/v1/account_pb.ts";
import { assertEquals, assertThrows } from "../../../test/assert.ts";
import { MessageRegistry } from "./registry.ts";

Deno.test("MessageRegistry encodes with the full type name and decodes back", () => {
  const registry = new MessageRegistry([account.DepositedEventSchema]);
  const event = create(account.DepositedEventSchema, { accountId: "a", amount: 5n, note: "hi" });
  const stored = registry.encode(event);
  assertEquals(stored.type, "test.v1.DepositedEvent");
  assertEquals(stored.revision, "");
  assertEquals(registry.decode(stored), event);
});

Deno.test("MessageRegistry refuses unknown types and undecodable bytes with clear errors", () => {
  const registry = new MessageRegistry([account.DepositedEventSchema]);
  assertThrows(() => registry.decode({ type: "no.Such", revision: "", data: new Uint8Array() }), '"no.Such"');
  assertThrows(
    () =>
      registry.decode({ type: "test.v1.DepositedEvent", revision: "", data: new Uint8Array([0x0a, 0xff]) }),
    "does not decode",
  );
});

Deno.test("MessageRegistry upcasts old revisions through a chain of upcasters", () => {
  // Each upcaster lifts one revision to the next; the note says which one wrote it.
  const registry = new MessageRegistry().add(account.DepositedEventSchema, "3");
  const encode = (note: string) =>
    toBinary(account.DepositedEventSchema, create(account.DepositedEventSchema, { accountId: "a", note }));
  registry.addUpcaster({
    type: "test.v1.DepositedEvent",
    fromRevision: "1",
    upcast: () => ({ type: "test.v1.DepositedEvent", revision: "2", data: encode("v2") }),
  });
  registry.addUpcaster({
    type: "test.v1.DepositedEvent",
    fromRevision: "2",
    upcast: () => ({ type: "test.v1.DepositedEvent", revision: "3", data: encode("v3") }),
  });
  const decoded = registry.decode({ type: "test.v1.DepositedEvent", revision: "1", data: encode("v1") });
  assertEquals((decoded as account.DepositedEvent).note, "v3");
  assertThrows(
    () => registry.decode({ type: "test.v1.DepositedEvent", revision: "0", data: encode("v0") }),
    'No upcaster from revision "0"',
  );
});

Deno.test("MessageRegistry refuses two schemas under one name", () => {
  const registry = new MessageRegistry([account.DepositedEventSchema]);
  registry.add(account.DepositedEventSchema);
  assertThrows(() => registry.add({ ...account.DepositedEventSchema }), "Two different schemas");
});
