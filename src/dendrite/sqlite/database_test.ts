import { setImmediate } from "node:timers";
import { join } from "node:path";
import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { Sqlite } from "./database.ts";

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
