import { join } from "node:path";
import { assert, assertEquals } from "../../../test/assert.ts";
import type { EventRecord, TrackedEventRecord } from "./event_store.ts";
import { IDEMPOTENCY_KEY } from "./idempotency.ts";
import { SqliteEventStore } from "./sqlite.ts";

function event(n: number, extra: Partial<EventRecord> = {}): EventRecord {
  return {
    id: `e-${n}`,
    timestamp: 1_700_000_000_000 + n,
    payload: { type: "test.Event", revision: "", data: new Uint8Array([n, 1, 2]) },
    metadata: {},
    aggregate: { id: "a", type: "Thing", sequence: n },
    ...extra,
  };
}

async function all(store: SqliteEventStore): Promise<TrackedEventRecord[]> {
  const records: TrackedEventRecord[] = [];
  for await (const record of store.stream({ from: 0 })) records.push(record);
  return records;
}

/** A writer that keeps its recent events, and a second store object on the same file that reads only the file. */
async function pair(): Promise<
  { writer: SqliteEventStore; file: SqliteEventStore; [Symbol.asyncDispose]: () => Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-recent-" });
  const path = join(dir, "events.sqlite");
  const writer = new SqliteEventStore({ path });
  const file = new SqliteEventStore({ path, recentEvents: { maxEvents: 0, maxBytes: 0 } });
  return {
    writer,
    file,
    [Symbol.asyncDispose]: async () => {
      writer.close();
      file.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("SqliteEventStore: the stream's recent events equal what the file holds, field for field", async () => {
  await using stores = await pair();
  const { writer, file } = stores;
  // One group commit: an idempotent batch (its key is not stored), an event of no aggregate with metadata and an
  // empty payload, and a batch refused for a taken sequence (rolled back inside the commit: it takes no token).
  const appends = [
    writer.append([
      event(0, { metadata: { [IDEMPOTENCY_KEY]: "k-1", user: "ann", attempt: 2, urgent: true } }),
      event(1, { payload: { type: "test.Other", revision: "3", data: new Uint8Array([9]) } }),
    ]),
    writer.append([{
      id: "free",
      timestamp: 5,
      payload: { type: "test.Free", revision: "", data: new Uint8Array() },
      metadata: { correlation: "c-1" },
    }]),
    writer.append([event(1)]),
  ];
  const [first, second, refused] = await Promise.allSettled(appends);
  assertEquals([first.status, second.status, refused.status], ["fulfilled", "fulfilled", "rejected"]);
  await writer.append([event(2)]);

  const recent = await all(writer);
  const stored = await all(file);
  assertEquals(recent.map((record) => record.token), [0, 1, 2, 3]);
  assertEquals(recent, stored);
  assert(recent.every((record) => Object.isFrozen(record)), "read from the kept events");
  assert(!stored.some((record) => Object.isFrozen(record)), "read from the file");
  assertEquals(recent[0].metadata, { user: "ann", attempt: 2, urgent: true });
});

Deno.test("SqliteEventStore: appends from another store object in between are read from the file, in order", async () => {
  await using stores = await pair();
  const { writer, file } = stores;
  await writer.append([event(0), event(1)]);
  await file.append([event(2)]);
  await writer.append([event(3)]);
  const tokens = (await all(writer)).map((record) => [record.token, record.id]);
  assertEquals(tokens, [[0, "e-0"], [1, "e-1"], [2, "e-2"], [3, "e-3"]]);
  assertEquals(await all(writer), await all(file));
});

Deno.test("SqliteEventStore: live readers at the head share one copy of each new event", async () => {
  await using stores = await pair();
  const { writer } = stores;
  const signal = AbortSignal.timeout(5_000);
  const next = async () => {
    for await (const record of writer.stream({ from: 0, follow: true, signal })) return record;
    throw new Error("the stream ended");
  };
  const readers = [next(), next()];
  await writer.append([event(0)]);
  const [one, two] = await Promise.all(readers);
  assert(one === two, "both readers got the same record object");
});
