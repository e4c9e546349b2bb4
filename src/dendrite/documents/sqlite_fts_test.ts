import { assertEquals, assertRejects } from "../../../test/assert.ts";
import { Sqlite } from "../sqlite/database.ts";
import { SqliteDocumentStore } from "./sqlite.ts";

type Note = { text: string };

function open() {
  const sql = new Sqlite(":memory:");
  const store = new SqliteDocumentStore({ sqlite: sql });
  return { sql, store, notes: store.collection<Note>("notes", { textFields: ["text"] }) };
}

Deno.test("SQLite search sees a unit of work's documents once it commits", async () => {
  const { sql, store, notes } = open();
  await store.unitOfWork(async () => {
    await notes.put("a", { text: "alpha" });
    await notes.put("b", { text: "beta" });
    await notes.put("a", { text: "gamma" }); // replaced within the same unit
    assertEquals((await notes.get("a"))?.text, "gamma");
  });
  assertEquals((await notes.search("alpha")).length, 0);
  assertEquals((await notes.search("gamma")).map((f) => f.id), ["a"]);
  assertEquals((await notes.search("beta")).map((f) => f.id), ["b"]);
  const rows = sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text")!.n;
  assertEquals(rows, 2);
  sql.close();
});

Deno.test("SQLite search keeps no index entry of a rolled-back unit or a deleted document", async () => {
  const { sql, store, notes } = open();
  await notes.put("kept", { text: "kept words" });
  await assertRejects(() =>
    store.unitOfWork(async () => {
      await notes.put("lost", { text: "lost words" });
      await notes.put("kept", { text: "changed words" });
      throw new Error("batch failed");
    })
  );
  assertEquals((await notes.search("words")).map((f) => f.id), ["kept"]);
  assertEquals((await notes.search("changed")).length, 0);
  await store.unitOfWork(async () => {
    await notes.put("temp", { text: "temporary" });
    await notes.delete("temp");
    await notes.delete("kept");
  });
  assertEquals(await notes.search("temporary"), []);
  assertEquals(await notes.search("kept"), []);
  assertEquals(sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text")!.n, 0);
  sql.close();
});

Deno.test("SQLite search keeps no index entry of a write rolled back to its savepoint inside a unit", async () => {
  const { sql, store, notes } = open();
  await store.unitOfWork(async () => {
    await notes.put("keep", { text: "kept text" });
    const unserializable = { text: "never stored", size: 1n } as unknown as Note;
    await assertRejects(() =>
      notes.putMany([{ id: "lost", document: { text: "lost text" } }, {
        id: "bad",
        document: unserializable,
      }])
    );
  });
  assertEquals(await notes.get("lost"), undefined);
  assertEquals((await notes.search("text")).map((f) => f.id), ["keep"]);
  assertEquals(sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text")!.n, 1);
  sql.close();
});

Deno.test("SQLite document store moves a database from the old full-copy index to the contentless one", async () => {
  const sql = new Sqlite(":memory:");
  // The layout of earlier versions: the index kept a copy of each text and its collection.
  sql.db.exec(`
    CREATE TABLE documents (collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (collection, id));
    CREATE VIRTUAL TABLE documents_fts USING fts5 (text, collection UNINDEXED);
    INSERT INTO documents (collection, id, body) VALUES
      ('notes', 'a', '{"text":"old alpha"}'), ('notes', 'b', '{"text":"old beta"}'), ('tags', 't', '{"name":"x"}');
    INSERT INTO documents_fts (rowid, text, collection) VALUES (1, 'old alpha', 'notes'), (2, 'old beta', 'notes');
  `);
  const store = new SqliteDocumentStore({ sqlite: sql });
  assertEquals(sql.get("SELECT 1 AS found FROM sqlite_master WHERE name = 'documents_fts'"), undefined);
  const notes = store.collection<Note>("notes", { textFields: ["text"] });
  assertEquals((await notes.search("old")).map((f) => f.id).sort(), ["a", "b"]);
  assertEquals((await notes.search("alpha")).map((f) => f.id), ["a"]);
  // Indexed once: a second store on the same database does not add the texts again.
  new SqliteDocumentStore({ sqlite: sql }).collection<Note>("notes", { textFields: ["text"] });
  assertEquals(sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_text")!.n, 2);
  assertEquals(sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM documents_reindex")!.n, 0);
  sql.close();
});
