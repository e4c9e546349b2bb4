import { join } from "node:path";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { ConcurrencyError } from "../core/errors.ts";
import type { EventRecord } from "./event_store.ts";
import { SqliteEventStore } from "./sqlite.ts";

function event(
  id: string,
  sequence: number,
): EventRecord & { aggregate: { type: string; id: string; sequence: number } } {
  return {
    id: `${id}-${sequence}`,
    timestamp: sequence,
    payload: { type: "test.Event", revision: "", data: new Uint8Array([sequence]) },
    metadata: {},
    aggregate: { type: "test.Thing", id, sequence },
  };
}

Deno.test("SqliteEventStore writes a snapshot in the group commit of the events it follows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-snapshot-" });
  const store = new SqliteEventStore({ path: join(dir, "events.sqlite") });
  try {
    // Both in one tick: the snapshot's sequence is checked inside the commit, after the events it covers.
    const appended = store.append([event("a", 0), event("a", 1)]);
    const snapshot = store.appendSnapshot(event("a", 1));
    const beyond = store.appendSnapshot(event("a", 2));
    await appended;
    await snapshot;
    await assertRejects(() => beyond, ConcurrencyError, "beyond the highest event 1");
    const read = [];
    for await (const record of store.readAggregate("a", { allowSnapshots: true })) read.push(record);
    assertEquals(read.map((r) => [r.snapshot ?? false, r.aggregate.sequence]), [[true, 1]]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
  await assertRejects(() => store.appendSnapshot(event("a", 1)), Error, "closed");
});
