import { assert, assertEquals } from "../../../test/assert.ts";
import { causedBy, envelope, newMessageId } from "./message.ts";

Deno.test("newMessageId makes version-7 UUIDs that sort in creation order", () => {
  const ids = Array.from({ length: 5_000 }, () => newMessageId());
  for (const id of ids) {
    assert(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id), id);
  }
  assertEquals([...ids].sort(), ids);
  assertEquals(new Set(ids).size, ids.length);
  // The last 48 bits are random: no two ids share them (random bytes are never handed out twice).
  assertEquals(new Set(ids.map((id) => id.slice(-12))).size, ids.length);
  const ms = parseInt(ids[0].replaceAll("-", "").slice(0, 12), 16);
  assert(Math.abs(ms - Date.now()) < 60_000, "the first 48 bits are the time in ms");
});

Deno.test("causedBy keeps the correlation id and sets the causation id", () => {
  const first = { ...envelope({ $typeName: "x.A" }), metadata: { trace_id: "t" } };
  const second = { ...envelope({ $typeName: "x.B" }), metadata: causedBy(first) };
  assertEquals(second.metadata, { trace_id: "t", correlation_id: first.id, causation_id: first.id });
  const third = causedBy(second, { subject: "s" });
  assertEquals(third, { trace_id: "t", correlation_id: first.id, causation_id: second.id, subject: "s" });
});
