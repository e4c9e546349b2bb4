import { setImmediate } from "node:timers";
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "../../../test/assert.ts";
import { CHECKPOINT_PAGES, Sqlite } from "./database.ts";

Deno.test("Sqlite.unit() commits or rolls back as one; other writes wait for it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-unit-" });
  const sql = new Sqlite(join(dir, "unit.sqlite"));
  try {
    sql.db.exec("CREATE TABLE t (v INTEGER)");
    const order: string[] = [];
    const gate = Promise.withResolvers<void>();
    const unit = sql.unit(async () => {
      await sql.write(() => sql.run("INSERT INTO t VALUES (1)"));
      order.push("unit wrote");
      await gate.promise;
      await sql.write(() => sql.run("INSERT INTO t VALUES (2)"));
      order.push("unit done");
    });
    const outside = sql.write(() => {
      order.push("outside");
      sql.run("INSERT INTO t VALUES (3)");
    });
    // Every microtask that could run has run by the next macrotask: the outside write is still waiting.
    await new Promise((resolve) => setImmediate(resolve));
    assertEquals(order, ["unit wrote"]);
    gate.resolve();
    await Promise.all([unit, outside]);
    assertEquals(order, ["unit wrote", "unit done", "outside"]);
    await assertRejects(
      () =>
        sql.unit(async () => {
          await sql.write(() => sql.run("INSERT INTO t VALUES (4)"));
          throw new Error("abandon");
        }),
      Error,
      "abandon",
    );
    await assertRejects(() => sql.write(() => sql.run("INSERT INTO missing VALUES (5)")));
    assertEquals(sql.all<{ v: number }>("SELECT v FROM t ORDER BY v").map((r) => r.v), [1, 2, 3]);
  } finally {
    sql.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Sqlite checkpoints its write-ahead log every CHECKPOINT_PAGES pages, not SQLite's 1000", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dendrite-checkpoint-" });
  try {
    // 120 commits of 4 pages each (480 pages): the log's largest size shows how often it was checkpointed.
    const largestLog = (name: string, options?: { checkpointPages?: number }) => {
      const path = join(dir, name);
      const sql = new Sqlite(path, options);
      try {
        sql.db.exec("CREATE TABLE t (v BLOB)");
        let largest = 0;
        for (let i = 0; i < 120; i++) {
          sql.run("INSERT INTO t VALUES (?)", new Uint8Array(3 * 4096).fill(i));
          largest = Math.max(largest, Deno.statSync(`${path}-wal`).size);
        }
        assertEquals(sql.get<{ n: number }>("SELECT count(*) AS n FROM t")?.n, 120);
        return largest / (4096 + 24); // a log frame: a page and its header
      } finally {
        sql.close();
      }
    };
    const pages = largestLog("default.sqlite");
    assert(pages > CHECKPOINT_PAGES && pages < CHECKPOINT_PAGES + 10, `the log grew to ${pages} pages`);
    const sqlites = largestLog("sqlites-default.sqlite", { checkpointPages: 1000 });
    assert(sqlites > 450, `with 1000 pages the log grew to ${sqlites} pages`);
    const bad = assertThrows(
      () => new Sqlite(join(dir, "bad.sqlite"), { checkpointPages: 0 }),
      "positive integer",
    );
    assert(bad instanceof RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
