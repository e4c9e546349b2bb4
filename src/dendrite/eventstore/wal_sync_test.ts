import { join } from "node:path";
import { setImmediate } from "node:timers";
import { assert, assertEquals, assertRejects } from "../../../test/assert.ts";
import { Sqlite } from "../sqlite/database.ts";
import type { EventRecord, TrackedEventRecord } from "./event_store.ts";
import { SqliteEventStore } from "./sqlite.ts";
import { GroupCommit } from "./sqlite_append.ts";
import { SCHEMA } from "./sqlite_schema.ts";
import { type CommitSync, WalSync } from "./wal_sync.ts";

function event(id: string, sequence: number): EventRecord {
  return {
    id: `${id}-${sequence}`,
    timestamp: sequence,
    payload: { type: "test.Event", revision: "", data: new Uint8Array([sequence]) },
    metadata: {},
    aggregate: { type: "test.Thing", id, sequence },
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A sync the test completes by hand: call `i` waits until `calls[i].resolve()` or `calls[i].reject(error)`. */
class ScriptedSync implements CommitSync {
  readonly calls: PromiseWithResolvers<void>[] = [];
  blocking = 0;
  closed = false;
  sync(): Promise<void> {
    const call = Promise.withResolvers<void>();
    this.calls.push(call);
    return call.promise;
  }
  syncNow(): void {
    this.blocking++;
  }
  close(): void {
    this.closed = true;
  }
}

/** A group commit on a temporary file with a scripted sync; `confirmed` collects what readers would be shown. */
async function writer() {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-walsync-" });
  const sql = new Sqlite(join(dir, "events.sqlite"), { synchronous: "NORMAL" });
  sql.db.exec(SCHEMA);
  const sync = new ScriptedSync();
  const confirmed: (readonly TrackedEventRecord[])[] = [];
  const commit = new GroupCommit(sql, {
    idempotencyWindowMs: 60_000,
    clock: Date.now,
    committed: (events) => confirmed.push(events),
    sync,
  });
  const rows = () => sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM events")!.n;
  const dispose = async () => {
    sql.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { commit, sync, confirmed, rows, dispose };
}

/** Tracks whether a promise has settled, and how. */
function watch<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error) => Object.assign(state, { done: true, error }),
  );
  return state;
}

Deno.test("GroupCommit: an append is confirmed, and its events shown, only after the sync that follows its commit", async () => {
  const w = await writer();
  try {
    const append = watch(w.commit.append([event("a", 0), event("a", 1)]));
    await turn();
    assertEquals(w.rows(), 2, "committed to the file");
    assertEquals(w.sync.calls.length, 1, "and a sync started");
    assertEquals(append.done, false, "not confirmed before the sync is done");
    assertEquals(w.confirmed, [], "nor shown to readers");
    assertEquals(w.commit.pendingFrom, 0, "a reader of the file stops before token 0");
    w.sync.calls[0].resolve();
    await turn();
    assertEquals(append.value, { firstToken: 0, lastToken: 1 });
    assertEquals(w.confirmed.map((events) => events.map((e) => e.token)), [[0, 1]]);
    assertEquals(w.commit.pendingFrom, undefined);
  } finally {
    await w.dispose();
  }
});

Deno.test("GroupCommit: transactions committed while a sync runs share the next sync, confirmed in token order", async () => {
  const w = await writer();
  try {
    const first = watch(w.commit.append([event("a", 0)]));
    await turn();
    const second = watch(w.commit.append([event("b", 0)]));
    await turn();
    const third = watch(w.commit.append([event("c", 0)]));
    await turn();
    assertEquals(w.rows(), 3, "three commits, none waiting for the disk");
    assertEquals(w.sync.calls.length, 1, "one sync at a time");
    assertEquals(w.commit.pendingFrom, 0);
    w.sync.calls[0].resolve();
    await turn();
    assertEquals([first.done, second.done, third.done], [true, false, false]);
    assertEquals(w.commit.pendingFrom, 1, "the first is durable; the others wait for the next sync");
    assertEquals(w.sync.calls.length, 2, "which covers both");
    w.sync.calls[1].resolve();
    await turn();
    assertEquals([second.value?.firstToken, third.value?.firstToken], [1, 2]);
    assertEquals(w.confirmed.map((events) => events.map((e) => e.token)), [[0], [1, 2]]);
  } finally {
    await w.dispose();
  }
});

Deno.test("GroupCommit: a failed sync fails its appends and every later write", async () => {
  const w = await writer();
  try {
    const lost = w.commit.append([event("a", 0)]);
    const refused = w.commit.append([event("b", 1)]); // sequence 1 without 0: refused in its savepoint
    await turn();
    w.sync.calls[0].reject(new Error("EIO"));
    const error = await assertRejects(() => lost, Error, "could not make its commits durable");
    assertEquals((error.cause as Error).message, "EIO");
    await assertRejects(() => refused, Error);
    assertEquals(w.confirmed, [], "nothing shown to readers");
    await assertRejects(() => w.commit.append([event("c", 0)]), Error, "takes no more writes");
    const snapshot = { ...event("a", 0), aggregate: { type: "test.Thing", id: "a", sequence: 0 } };
    await assertRejects(() => w.commit.appendSnapshot(snapshot), Error, "takes no more writes");
    assertEquals(w.sync.calls.length, 1, "no sync after the failure");
  } finally {
    await w.dispose();
  }
});

Deno.test("GroupCommit: close syncs what is not yet confirmed (blocking) and confirms it once", async () => {
  const w = await writer();
  try {
    const syncing = watch(w.commit.append([event("a", 0)]));
    await turn();
    const queued = w.commit.append([event("b", 0)]); // not yet committed: close commits it
    w.commit.close();
    assertEquals(w.sync.blocking, 1, "one blocking sync for both");
    assert(w.sync.closed, "and the log let go of");
    assertEquals((await queued).firstToken, 1);
    await turn();
    assertEquals(syncing.value?.firstToken, 0);
    w.sync.calls[0].resolve(); // the sync close overtook ends later: nothing is confirmed twice
    await turn();
    assertEquals(w.confirmed.map((events) => events.map((e) => e.token)), [[0, 1]]);
  } finally {
    await w.dispose();
  }
});

Deno.test("WalSync syncs a WAL database's log, and the store confirms through it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-walsync-" });
  const path = join(dir, "events.sqlite");
  try {
    const store = new SqliteEventStore({ path, recentEvents: { maxEvents: 0, maxBytes: 0 } });
    // A follower reading the file (no recent events kept) sees only what was confirmed to its appender.
    const confirmedTokens = new Set<number>();
    const seen: number[] = [];
    const early: number[] = [];
    const follower = (async () => {
      for await (const record of store.stream({ from: 0, follow: true })) {
        if (!confirmedTokens.has(record.token)) early.push(record.token);
        seen.push(record.token);
        if (seen.length === 200) return;
      }
    })();
    const appends = [];
    for (let i = 0; i < 100; i++) {
      appends.push(
        store.append([event(`s${i}`, 0), event(`s${i}`, 1)]).then((r) => {
          confirmedTokens.add(r.firstToken);
          confirmedTokens.add(r.lastToken);
        }),
      );
      if (i % 10 === 0) await turn();
    }
    await Promise.all(appends);
    await follower;
    assertEquals(early, [], "tokens read before their append was confirmed");
    assertEquals(seen, [...Array(200).keys()]);
    assertEquals(await store.lastToken(), 199);
    store.close();
    const again = new SqliteEventStore({ path });
    assertEquals(await again.lastToken(), 199, "all there after reopening");
    again.close();
    // The class itself: the log exists while a connection is open, and SQLite removes it with the last one.
    const other = join(dir, "other.sqlite");
    const wal = new WalSync(other);
    await assertRejects(() => wal.sync(), Deno.errors.NotFound);
    const sql = new Sqlite(other, { synchronous: "NORMAL" });
    sql.db.exec("CREATE TABLE t (x INTEGER)");
    sql.run("INSERT INTO t VALUES (1)");
    await wal.sync();
    wal.syncNow();
    wal.close();
    sql.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
