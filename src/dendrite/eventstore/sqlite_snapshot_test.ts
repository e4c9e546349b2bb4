import { join } from "node:path";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { ConcurrencyError } from "../core/errors.ts";
import type { EventRecord } from "./event_store.ts";
import { setImmediate } from "node:timers";
import { Sqlite } from "../sqlite/database.ts";
import { SqliteEventStore } from "./sqlite.ts";
import { GroupCommit } from "./sqlite_append.ts";
import { SCHEMA } from "./sqlite_schema.ts";

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

Deno.test("SqliteEventStore: a snapshot waits for the next append's commit instead of an fsync of its own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-snapshot-" });
  const sql = new Sqlite(join(dir, "events.sqlite"));
  sql.db.exec(SCHEMA);
  let commits = 0;
  const writer = new GroupCommit(sql, {
    idempotencyWindowMs: 60_000,
    clock: Date.now,
    committed: () => commits++,
    sync: undefined,
  });
  try {
    await writer.append([event("a", 0)]);
    const snapshot = writer.appendSnapshot(event("a", 0));
    // A whole turn of the event loop passes: an append arriving later still takes the snapshot along.
    await new Promise((resolve) => setImmediate(resolve));
    await writer.append([event("a", 1)]);
    await snapshot;
    assertEquals(commits, 2);
    // With no append to join, the snapshot is committed alone, soon.
    await writer.appendSnapshot(event("a", 1));
    assertEquals(commits, 3);
  } finally {
    sql.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteEventStore: closing writes the snapshots still waiting", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-snapshot-" });
  const path = join(dir, "events.sqlite");
  try {
    const store = new SqliteEventStore({ path });
    await store.append([event("a", 0)]);
    const snapshot = store.appendSnapshot(event("a", 0));
    store.close();
    await snapshot;
    const reopened = new SqliteEventStore({ path });
    const read = [];
    for await (const record of reopened.readSnapshots("a")) read.push(record.aggregate.sequence);
    reopened.close();
    assertEquals(read, [0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
