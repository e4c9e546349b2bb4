import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { assertEquals } from "../../test/assert.ts";
import type { EventRecord } from "../dendrite/mod.ts";
import { EventWithTokenSchema } from "../gen/axon/event_pb.ts";
import { toAxonEvent } from "../dendrite/axon/protocol/messages.ts";
import { encodeEventWithToken } from "./wire_event.ts";

const records: EventRecord[] = [
  {
    id: "e1",
    timestamp: 1_700_000_000_123,
    payload: { type: "t.v1.X", revision: "2", data: new Uint8Array([1, 0, 255]) },
    metadata: { s: "x", n: -42, d: 0.5, b: true, big: 2 ** 40 },
    aggregate: { type: "Thing", id: "a-1", sequence: 7 },
  },
  { id: "e2", timestamp: 0, payload: { type: "", revision: "", data: new Uint8Array() }, metadata: {} },
  {
    id: "é-ünïcödé-✓",
    timestamp: 2 ** 50,
    payload: { type: "t.v1.Ü", revision: "", data: new Uint8Array(300).fill(7) },
    metadata: { "": "", empty: "", zero: 0, no: false, neg: -1, half: -0.5, emoji: "🙂", large: 2 ** 45 },
    aggregate: { type: "Tŷpe", id: "ïd", sequence: 300 },
  },
  {
    id: "negative",
    timestamp: -5,
    payload: { type: "p", revision: "", data: new Uint8Array([1]) },
    metadata: { huge: 2 ** 52 + 2 },
    aggregate: { type: "T", id: "n", sequence: 1 },
  },
  {
    id: "e3",
    timestamp: 5,
    payload: { type: "p", revision: "", data: new Uint8Array([9]) },
    metadata: {},
    aggregate: { type: "T", id: "z", sequence: 0 },
  },
];

Deno.test("encodeEventWithToken() matches protobuf-es toBinary and decodes to the same event", () => {
  for (const [i, record] of records.entries()) {
    for (const token of [0, 1, 123_456_789_012]) {
      const expected = toBinary(
        EventWithTokenSchema,
        create(EventWithTokenSchema, { token: BigInt(token), event: toAxonEvent(record) }),
      );
      const actual = encodeEventWithToken(record, token);
      assertEquals(
        fromBinary(EventWithTokenSchema, actual),
        fromBinary(EventWithTokenSchema, expected),
        `record ${i} token ${token}`,
      );
      assertEquals([...actual], [...expected], `bytes of record ${i} token ${token}`);
    }
  }
});
